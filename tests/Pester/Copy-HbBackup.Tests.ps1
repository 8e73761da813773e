BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    . (Join-Path $PSScriptRoot 'StorageSetup.ps1')
    $script:hostRoot = Join-Path $TestEnv.BackupRoot ('pcopy-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination $hostRoot -Tag pcopy
    $script:root = New-HbStorageFolder 'pester-copy'
}

AfterAll {
    Remove-HbStorageFolder $root
    Remove-Item -Recurse -Force -LiteralPath $hostRoot -ErrorAction SilentlyContinue
    # Other runs' sandboxes may exist meanwhile on the shared engine: this file's are named after its tag.
    @(docker ps -aq --filter 'label=hbops.sandbox=true' --filter 'name=pg-restore-test-pcopypipe') + @(docker volume ls -q --filter 'name=pg-restore-test-pcopypipe') |
        Where-Object { $_ } | Should -BeNullOrEmpty -Because 'the restore test of a copy removes its sandbox'
}

Describe 'Copy-HbBackup' {
    Context 'Parameter validation' {
        It 'takes artefacts from the pipeline and needs a destination' {
            $c = Get-Command Copy-HbBackup
            ($c.Parameters['Artefact'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -Contain $true
            ($c.Parameters['Destination'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -Contain $true
        }
        It 'refuses a destination that names another storage host than -StorageHost, before connecting' {
            { $a | Copy-HbBackup -Destination 'elsewhere:/backups' -StorageHost storage @Sftp -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidArgument,HbOps.CopyHbBackupCommand'
        }
        It 'refuses an unknown storage alias' {
            { $a | Copy-HbBackup -Destination 'no-such-storage:/backups' @Sftp -ErrorAction Stop } |
                Should -Throw -ErrorId 'SshAliasNotFound,HbOps.CopyHbBackupCommand'
        }
        It 'copies nothing with -WhatIf' {
            $a | Copy-HbBackup -Destination "storage:$root/whatif" @Sftp -WhatIf | Should -BeNullOrEmpty
            Get-HbStorageLocal "$root/whatif" | Should -Not -Exist
        }
    }

    It 'copies to the SFTP-only storage host and proves the copy by reading it back' {
        $c = $a | Copy-HbBackup -Destination "storage:$root" @Sftp
        $c.GetType().Name | Should -Be 'HbBackupArtefact'
        "$($c.Location)" | Should -Be 'Sftp'
        $c.IsOffHostCopy | Should -BeTrue
        $c.Path | Should -Be "$root/$(Split-Path -Leaf $a.RunFolder)/$($a.FileName)"
        $c.Sha256 | Should -Be $a.Sha256
        $c.Copy.Verified | Should -BeTrue
        $c.Copy.VerifiedSha256 | Should -Be $a.Sha256
        $c.Copy.TransferSha256 | Should -Be $a.Sha256
        $c.Copy.VerifiedSizeBytes | Should -Be $a.SizeBytes
        $c.Copy.SourcePath | Should -Be $a.Path
        $c.Copy.StorageHost.Alias | Should -Be 'storage'
        # On the storage's disk: the same bytes, private, the manifest unchanged, SHA256SUMS verifies.
        $local = Get-HbStorageLocal $c.Path
        (Get-FileHash -Algorithm SHA256 -LiteralPath $local).Hash.ToLowerInvariant() | Should -Be $a.Sha256
        (& stat -c '%a %U' $local) | Should -Be '600 storage'
        (Get-FileHash -LiteralPath (Get-HbStorageLocal $c.ManifestPath)).Hash | Should -Be (Get-FileHash -LiteralPath $a.ManifestPath).Hash
        (& sh -c "cd '$(Get-HbStorageLocal $c.RunFolder)' && sha256sum -c SHA256SUMS") -join "`n" | Should -Match "$($a.FileName): OK"
        Get-ChildItem (Get-HbStorageLocal $c.RunFolder) -Filter '*.partial' | Should -BeNullOrEmpty
    }

    It 'lists copies from the storage with Get-HbBackup and re-verifies them with Test-HbBackup' {
        $listed = @(Get-HbBackup -Path "storage:$root" @Sftp)
        $listed.Count | Should -Be 1
        "$($listed[0].Location)" | Should -Be 'Sftp'
        $listed[0].Copy.Verified | Should -BeTrue
        @(Get-HbBackup -StorageHost storage -Path $root @Sftp).Count | Should -Be 1
        @(Get-HbBackup -Location "storage:$root" @Sftp).Count | Should -Be 1
        "$(($listed[0] | Test-HbBackup).Status)" | Should -Be 'Verified'
    }

    It 'never overwrites an existing copy' {
        { $a | Copy-HbBackup -Destination "storage:$root" @Sftp -ErrorAction Stop } | Should -Throw -ErrorId 'CopyExists,HbOps.CopyHbBackupCommand'
    }

    It 'runs Invoke-HbBackup | Copy-HbBackup | Test-HbRestore, restoring from the copy, and records the copy in the closure record' {
        $dest = New-HbStorageFolder 'pester-pipeline'
        try {
            $copy = $null
            $r = Invoke-HbBackup @Ssh @Prod -Destination $hostRoot -Tag pcopypipe | Copy-HbBackup -Destination "storage:$dest" @Sftp -OutVariable copy | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            "$($r.Artefact.Location)" | Should -Be 'Sftp'
            $r.ChecksumVerified | Should -BeTrue
            $r.ObservedSha256 | Should -Be $copy[0].Sha256
            $r.RecordPath | Should -BeLike "$dest/*.restore-*.yml"
            Get-HbStorageLocal $r.RecordPath | Should -Exist
            $rec = $copy[0], $r | Export-HbClosureRecord -Title 'copy pipeline' -Path (Join-Path $TestDrive 'closure.yml')
            $rec.Copies.Count | Should -Be 1
            $rec.Copies[0].Copy.VerifiedSha256 | Should -Be $copy[0].Sha256
            ($rec.Acceptance | Where-Object Criterion -like 'Off-host copy proven*').Status | Should -Be 'Passed'
            ($rec.Acceptance | Where-Object Criterion -eq 'The restore test read the off-host copy').Status | Should -Be 'Passed'
            Get-Content -Raw (Join-Path $TestDrive 'closure.yml') | Should -Match 'verifiedSha256: [0-9a-f]{64}'
        }
        finally {
            Remove-HbStorageFolder $dest
        }
    }

    It 'copies to a folder on this machine' {
        $dest = Join-Path $TestDrive 'offsite'
        $c = $a | Copy-HbBackup -Destination $dest
        "$($c.Location)" | Should -Be 'LocalCopy'
        $c.Copy.StorageHost | Should -BeNullOrEmpty
        (Get-FileHash -Algorithm SHA256 -LiteralPath $c.Path).Hash.ToLowerInvariant() | Should -Be $a.Sha256
        "$((Get-HbBackup -Path $dest -Local).Location)" | Should -Be 'LocalCopy'
        # A copy of the copy, on to the storage.
        $again = $c | Copy-HbBackup -Destination "storage:$root/second" @Sftp
        $again.Copy.SourcePath | Should -Be $c.Path
        "$($again.Copy.SourceLocation)" | Should -Be 'LocalCopy'
    }

    It 'refuses a copy the storage has no room for (StorageFull) before writing anything' {
        $full = New-HbStorageFolder 'full' $Storage.SmallRoot
        { $a | Copy-HbBackup -Destination "storage:$full" @Sftp -ErrorAction Stop } | Should -Throw -ErrorId 'StorageFull,HbOps.CopyHbBackupCommand'
        Get-HbStorageLocal $full | Should -Not -Exist
    }

    It 'with -Force, a storage that runs full during the transfer is StorageFull and keeps no partial file' {
        $full = New-HbStorageFolder 'fills' $Storage.SmallRoot
        try {
            { $a | Copy-HbBackup -Destination "storage:$full" @Sftp -Force -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId 'StorageFull,HbOps.CopyHbBackupCommand'
            Get-ChildItem -Recurse -File (Get-HbStorageLocal $full) | Should -BeNullOrEmpty
        }
        finally {
            Remove-HbStorageFolder $full
        }
    }

    It 'claims nothing and removes the partial file when the connection is cut mid-copy' {
        # A large local artefact makes the transfer last long enough to cut it.
        $big = New-HbFakeArtefact -Template $a -Root (Join-Path $TestDrive 'big') -TimestampUtc ([datetime]::UtcNow) -SizeBytes 768MB
        $dest = New-HbStorageFolder 'cut'
        try {
            $job = Start-HbBackground { param($x, $d, $s) $x | Copy-HbBackup -Destination $d @s } @($big, "storage:$dest", $Sftp)
            $partial = Get-HbStorageLocal "$dest/$(Split-Path -Leaf $big.RunFolder)/$($big.FileName).partial"
            $deadline = (Get-Date).AddSeconds(60)
            while (-not ((Test-Path $partial) -and (Get-Item $partial).Length -gt 64MB) -and (Get-Date) -lt $deadline -and -not $job.Handle.IsCompleted) { Start-Sleep -Milliseconds 20 }
            (Get-Item $partial).Length | Should -BeGreaterThan 64MB -Because 'the transfer was under way when the connection was cut'
            Stop-HbStorageConnections
            $out = $job.PowerShell.EndInvoke($job.Handle)
            $errors = @($job.PowerShell.Streams.Error)
            $job.PowerShell.Dispose()
            $out | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -Be 'CopyFailed,HbOps.CopyHbBackupCommand'
            $errors[0].Exception.Message | Should -Match 'broke off'
            Get-ChildItem -Recurse -File (Get-HbStorageLocal $dest) | Should -BeNullOrEmpty
        }
        finally {
            Remove-HbStorageFolder $dest
        }
    }

    It 'a restore of a copy whose storage connection is cut while the copy streams to the docker host fails cleanly' {
        $big = New-HbFakeArtefact -Template $a -Root (Join-Path $TestDrive 'bigrestore') -TimestampUtc ([datetime]::UtcNow) -SizeBytes 768MB -Tag pcopycut
        $dest = New-HbStorageFolder 'restorecut'
        try {
            $c = $big | Copy-HbBackup -Destination "storage:$dest" @Sftp
            $before = @(Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory).Name
            $job = Start-HbBackground { param($x) $x | Test-HbRestore } @(, $c)
            $deadline = (Get-Date).AddSeconds(60)
            $uploading = $null
            while (-not $uploading -and (Get-Date) -lt $deadline -and -not $job.Handle.IsCompleted) {
                $uploading = Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory | Where-Object Name -notin $before |
                    Get-ChildItem -File -ErrorAction SilentlyContinue | Where-Object Length -gt 64MB
                if (-not $uploading) { Start-Sleep -Milliseconds 20 }
            }
            $uploading | Should -Not -BeNullOrEmpty -Because 'the copy was streaming to the docker host when the connection was cut'
            Stop-HbStorageConnections
            $out = $job.PowerShell.EndInvoke($job.Handle)
            $errors = @($job.PowerShell.Streams.Error)
            $job.PowerShell.Dispose()
            $out | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -Be 'SshConnectionLost,HbOps.TestHbRestoreCommand'
            # Nothing of the restore stays: no sandbox was made, the upload folder went.
            @(docker ps -aq --filter 'name=pg-restore-test-pcopycut') | Should -BeNullOrEmpty
            Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory | Where-Object Name -notin $before | Should -BeNullOrEmpty
        }
        finally {
            Remove-HbStorageFolder $dest
        }
    }

    It 'refuses a storage host whose key differs from known_hosts (HostKeyMismatch) or is unknown (HostKeyUnknown)' {
        $hostField = (Get-Content $Storage.KnownHostsPath).Split(' ')[0]
        & ssh-keygen -q -t ed25519 -N '' -f (Join-Path $TestDrive 'other') | Out-Null
        "$hostField $(((Get-Content (Join-Path $TestDrive 'other.pub')).Split(' ')[0..1]) -join ' ')" | Set-Content (Join-Path $TestDrive 'mismatch')
        Set-Content (Join-Path $TestDrive 'empty') -Value $null
        { $a | Copy-HbBackup -Destination "storage:$root/kh" @Sftp -KnownHostsPath (Join-Path $TestDrive 'mismatch') -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostKeyMismatch,HbOps.CopyHbBackupCommand'
        { $a | Copy-HbBackup -Destination "storage:$root/kh" @Sftp -KnownHostsPath (Join-Path $TestDrive 'empty') -ErrorAction Stop } |
            Should -Throw -ErrorId 'HostKeyUnknown,HbOps.CopyHbBackupCommand'
        Get-HbStorageLocal "$root/kh" | Should -Not -Exist
    }

    It 'reports a copy that changed after it was written as CopyVerificationFailed' {
        $dest = New-HbStorageFolder 'altered'
        try {
            $c = $a | Copy-HbBackup -Destination "storage:$dest" @Sftp
            $local = Get-HbStorageLocal $c.Path
            $f = [IO.File]::Open($local, 'Open', 'ReadWrite')
            try { $f.Position = 1000; $b = $f.ReadByte(); $f.Position = 1000; $f.WriteByte($b -bxor 0xFF) } finally { $f.Dispose() }
            $v = Get-HbBackup -Path "storage:$dest" @Sftp | Test-HbBackup -ErrorVariable err -ErrorAction SilentlyContinue
            "$($v.Status)" | Should -Be 'Failed'
            $err[0].FullyQualifiedErrorId | Should -Be 'CopyVerificationFailed,HbOps.TestHbBackupCommand'
        }
        finally {
            Remove-HbStorageFolder $dest
        }
    }
}
