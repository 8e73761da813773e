# Faults across commands (issue #13, classes 1-4): concurrent runs own their files, nothing outlives a lost
# connection or Ctrl+C, a full disk is named, artefacts are private. Every fault is scoped to what these tests make:
# only this process's own SSH connections are cut, only tmpfs mounts made here are filled.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:Id = [guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:HostRoot = "$($TestEnv.BackupRoot)/reliability-$Id"
    $script:LocalRoot = Join-Path ([IO.Path]::GetTempPath()) "hbops-reliability-$Id"
    $script:Day = (Get-Date).ToUniversalTime().ToString('yyyyMMdd')

    # Starts $Count background pipelines; returns their outputs and errors once all ended.
    function Invoke-HbConcurrently {
        param([int] $Count, [scriptblock] $Script, [scriptblock] $ArgumentsFor)
        $jobs = 1..$Count | ForEach-Object { Start-HbBackground $Script (& $ArgumentsFor $_) }
        foreach ($job in $jobs) {
            $out = $job.PowerShell.EndInvoke($job.Handle)
            [pscustomobject]@{ Output = @($out); Errors = @($job.PowerShell.Streams.Error) }
            $job.PowerShell.Dispose()
        }
    }

    # What a run folder holds: the names SHA256SUMS lists, whether sha256sum -c verifies them all, the dump files.
    function Get-HbRunFolderState {
        param([string] $Folder)
        $sums = @(Get-Content (Join-Path $Folder 'SHA256SUMS') | Where-Object { $_ })
        Push-Location $Folder
        try { $check = @(sha256sum -c SHA256SUMS 2>&1); $ok = $LASTEXITCODE -eq 0 } finally { Pop-Location }
        $names = @($sums | ForEach-Object { ($_ -split '  ', 2)[1] } | Sort-Object)
        [pscustomobject]@{
            # The dumps SHA256SUMS lists, and the manifests it lists (each artefact has both lines).
            Listed = @($names | Where-Object { $_ -like '*.dump' })
            ListedManifests = @($names | Where-Object { $_ -like '*.dump.manifest.yml' })
            Verifies = $ok
            Check = $check
            Dumps = @(Get-ChildItem -LiteralPath $Folder -File -Filter '*.dump' | ForEach-Object Name | Sort-Object)
            Manifests = @(Get-ChildItem -LiteralPath $Folder -File -Filter '*.dump.manifest.yml' | ForEach-Object Name | Sort-Object)
        }
    }

    function Get-HbMode { param([string] $Path) "$(stat -c '%a' $Path)" }
    function Get-HbGroup { param([string] $Path) "$(stat -c '%G' $Path)" }
}

AfterAll {
    Remove-Item -Recurse -Force $HostRoot, "$HostRoot-group", $LocalRoot, "$LocalRoot-group" -ErrorAction SilentlyContinue
    @(docker ps -aq --filter "name=pg-restore-test-*$Id") + @(docker volume ls -q --filter "name=pg-restore-test-*$Id") |
        Where-Object { $_ } | Should -BeNullOrEmpty -Because 'every sandbox of these tests is gone'
}

Describe 'Reliability under faults' {
    Context 'Concurrent runs own their files' {
        It 'six concurrent backups of one database with one tag on the host each claim their own artefact' {
            $dest = "$HostRoot/concurrent"
            $runs = Invoke-HbConcurrently 6 { param($s, $p, $d, $z) Invoke-HbBackup @s @p -Destination $d -Tag same -CompressionLevel $z -RowCounts None } {
                param($i) , @($Ssh, $Prod, $dest, $i) }
            $runs.Errors | Should -BeNullOrEmpty
            $artefacts = @($runs.Output)
            $artefacts.Count | Should -Be 6
            @($artefacts.Path | Sort-Object -Unique).Count | Should -Be 6
            foreach ($a in $artefacts) { (sha256sum $a.Path).Split(' ')[0] | Should -Be $a.Sha256 -Because "$($a.FileName) is the file that run wrote" }
            $folders = @($artefacts.RunFolder | Sort-Object -Unique)
            $listed = foreach ($f in $folders) {
                $state = Get-HbRunFolderState $f
                $state.Verifies | Should -BeTrue -Because ($state.Check -join "`n")
                $state.Dumps | Should -Be $state.Listed
                $state.Manifests | Should -Be $state.ListedManifests
                @($state.Manifests | ForEach-Object { $_ -replace '\.manifest\.yml$', '' }) | Should -Be $state.Dumps
                $state.Listed
            }
            @($listed).Count | Should -Be $artefacts.Count -Because 'SHA256SUMS lists exactly the claimed artefacts'
            Get-HbStrayFiles -Path $dest | Should -BeNullOrEmpty
            # Runs of one second share a name: one keeps it, the others carry their run id.
            $artefacts | Where-Object FileName -match '-[0-9a-f]{8}\.dump$' | ForEach-Object {
                $_.FileName | Should -Match "_full_\d{8}T\d{6}Z-$($_.RunId)\.dump$"
            }
        }

        It 'six concurrent -Local backups of one database with one tag each claim their own artefact' {
            $dest = Join-Path $LocalRoot 'concurrent'
            $runs = Invoke-HbConcurrently 6 { param($s, $p, $d, $z) Invoke-HbBackup @s @p -Destination $d -Local -Tag same -CompressionLevel $z -RowCounts None } {
                param($i) , @($Ssh, $Prod, $dest, $i) }
            $runs.Errors | Should -BeNullOrEmpty
            $artefacts = @($runs.Output)
            $artefacts.Count | Should -Be 6
            @($artefacts.Path | Sort-Object -Unique).Count | Should -Be 6
            foreach ($a in $artefacts) { (sha256sum $a.Path).Split(' ')[0] | Should -Be $a.Sha256 }
            $listed = foreach ($f in @($artefacts.RunFolder | Sort-Object -Unique)) {
                $state = Get-HbRunFolderState $f
                $state.Verifies | Should -BeTrue -Because ($state.Check -join "`n")
                $state.Dumps | Should -Be $state.Listed
                $state.Manifests | Should -Be $state.ListedManifests
                $state.Listed
            }
            @($listed).Count | Should -Be 6
            Get-HbStrayFiles -Path $dest | Should -BeNullOrEmpty
        }

        It 'four concurrent restore tests of one artefact each use their own sandbox and record' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination "$HostRoot/restore" -Tag "conc$Id" -RowCounts None
            $runs = Invoke-HbConcurrently 4 { param($a) $a | Test-HbRestore } { param($i) , @($a) }
            $runs.Errors | Should -BeNullOrEmpty
            $results = @($runs.Output)
            $results.Count | Should -Be 4
            $results | ForEach-Object { "$($_.Result)" | Should -BeIn 'Passed', 'PassedWithNotes'; $_.TeardownVerified | Should -BeTrue }
            @($results.Sandbox.Name | Sort-Object -Unique).Count | Should -Be 4
            @($results.RecordPath | Sort-Object -Unique).Count | Should -Be 4
            $results.RecordPath | ForEach-Object { $_ | Should -Exist }
            @(Get-ChildItem -LiteralPath $a.RunFolder -Filter "$($a.FileName).restore-*.yml").Count | Should -Be 4
            docker ps -aq --filter "name=pg-restore-test-conc$Id" | Should -BeNullOrEmpty
            docker volume ls -q --filter "name=pg-restore-test-conc$Id" | Should -BeNullOrEmpty
            Get-HbStrayFiles -Path $a.RunFolder | Should -BeNullOrEmpty
        }
    }

    Context 'A lost connection leaves nothing running and nothing behind' {
        It 'a host-side dump cut off mid-way is SshConnectionLost, its pg_dump session ends and its files go' {
            $dest = "$HostRoot/cut-host"
            $job = (Invoke-HbFault { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Tag cut } @($Ssh, $Prod, $dest) {
                $script:partial = Get-ChildItem $dest -Recurse -Filter '*.partial' -ErrorAction SilentlyContinue | Where-Object Length -gt 1MB
                [bool]$script:partial }).Job
            $runId = Get-HbRunId $partial[0].FullName
            $job.PowerShell.EndInvoke($job.Handle) | Should -BeNullOrEmpty
            $job.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'SshConnectionLost,HbOps.InvokeHbBackupCommand'
            $job.PowerShell.Dispose()
            # The host-side dump saw its input end: it ended pg_dump's server session and removed its partial file.
            Wait-HbCondition { (Get-HbDumpSessions -RunId $runId) -eq '0' -and -not (Get-ChildItem -Recurse -File $dest) } | Should -BeTrue
            @(ps -eo args | Select-String "hbops-dump-$runId") | Should -BeNullOrEmpty -Because 'no docker exec of the dump is left on the host'
        }

        It 'a -Local dump cut off mid-way is SshConnectionLost, its pg_dump session ends and its partial file goes' {
            $dest = Join-Path $LocalRoot 'cut-local'
            $job = (Invoke-HbFault { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Local -Tag cut -RowCounts None } @($Ssh, $Prod, $dest) {
                $script:partial = Get-ChildItem $dest -Recurse -Filter '*.partial' -ErrorAction SilentlyContinue | Where-Object Length -gt 1MB
                [bool]$script:partial }).Job
            $runId = Get-HbRunId $partial[0].FullName
            $job.PowerShell.EndInvoke($job.Handle) | Should -BeNullOrEmpty
            $job.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'SshConnectionLost,HbOps.InvokeHbBackupCommand'
            $job.PowerShell.Dispose()
            Get-ChildItem -Recurse -File $dest | Should -BeNullOrEmpty
            # The dump streamed into a connection that is gone: the host-side script ends its server session itself.
            Wait-HbCondition { (Get-HbDumpSessions -RunId $runId) -eq '0' -and -not (ps -eo args | Select-String "hbops-dump-$runId") } | Should -BeTrue
        }

        It 'a restore test cut off mid-way is SshConnectionLost and its sandbox (container and volume) goes with it' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination "$HostRoot/cut-restore" -Tag "cut$Id" -RowCounts None
            $job = (Invoke-HbFault { param($a) $a | Test-HbRestore } @($a) { [bool](docker ps -q --filter "name=pg-restore-test-cut$Id") }).Job
            $job.PowerShell.EndInvoke($job.Handle) | Should -BeNullOrEmpty
            $job.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'SshConnectionLost,HbOps.TestHbRestoreCommand'
            $job.PowerShell.Dispose()
            Wait-HbCondition { -not (docker ps -aq --filter "name=pg-restore-test-cut$Id") -and -not (docker volume ls -q --filter "name=pg-restore-test-cut$Id") } |
                Should -BeTrue -Because 'the lease on the host removes the run''s sandbox when its connection ends'
            Get-HbSandbox @Ssh | Where-Object Name -like "pg-restore-test-cut$Id*" | Should -BeNullOrEmpty
        }

        It 'an orphaned sandbox volume is listed, swept by Get-HbSandbox -Expired | Remove-HbSandbox, and a fresh one is not swept' {
            $old = "pg-restore-test-orphan$Id-$Day"
            $fresh = "pg-restore-test-fresh$Id-$Day"
            $now = (Get-Date).ToUniversalTime()
            foreach ($v in @(@{ Name = $old; Created = $now.AddMinutes(-5) }, @{ Name = $fresh; Created = $now })) {
                docker volume create --label hbops.sandbox=true --label "hbops.sandbox-name=$($v.Name)" --label "hbops.volume=$($v.Name)-data" `
                    --label "hbops.run-id=$Id" --label "hbops.created=$($v.Created.ToString('o'))" --label "hbops.expires=$($now.AddHours(2).ToString('o'))" "$($v.Name)-data" | Out-Null
            }
            try {
                $listed = @(Get-HbSandbox @Ssh | Where-Object Name -in $old, $fresh)
                $listed.Count | Should -Be 2
                $listed | ForEach-Object { $_.Orphaned | Should -BeTrue }
                $expired = @(Get-HbSandbox @Ssh -Expired | Where-Object Name -in $old, $fresh)
                $expired.Name | Should -Be $old -Because 'a volume whose container is gone is swept without waiting for its expiry, after a grace for creation'
                $removal = $expired | Remove-HbSandbox -Confirm:$false
                $removal.Verified | Should -BeTrue
                docker volume ls -q --filter "name=$old" | Should -BeNullOrEmpty
                docker volume ls -q --filter "name=$fresh" | Should -Not -BeNullOrEmpty
            }
            finally {
                docker volume rm "$old-data" "$fresh-data" 2>$null | Out-Null
            }
        }
    }

    Context 'Ctrl+C and full disks' {
        It 'Ctrl+C during a host-side dump leaves no file at all and no server session' {
            $dest = "$HostRoot/ctrlc-host"
            $job = Start-HbBackground { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Tag ctrlc } @($Ssh, $Prod, $dest)
            $partial = Wait-HbFile $dest '*.partial'
            $runId = Get-HbRunId $partial[0].FullName
            $job.PowerShell.Stop()
            $job.PowerShell.Dispose()
            # Stop returns once the command has cleaned up.
            Get-ChildItem -Recurse -File -Force $dest | Should -BeNullOrEmpty
            Get-HbDumpSessions -RunId $runId | Should -Be '0'
        }

        It 'Ctrl+C during a -Local dump leaves no file at all and no server session' {
            $dest = Join-Path $LocalRoot 'ctrlc-local'
            $job = Start-HbBackground { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Local -Tag ctrlc } @($Ssh, $Prod, $dest)
            $partial = Wait-HbFile $dest '*.partial'
            $runId = Get-HbRunId $partial[0].FullName
            $job.PowerShell.Stop()
            $job.PowerShell.Dispose()
            Get-ChildItem -Recurse -File -Force $dest | Should -BeNullOrEmpty
            Get-HbDumpSessions -RunId $runId | Should -Be '0'
        }

        Context 'on a full filesystem (8 MiB tmpfs the operator account owns)' {
            BeforeAll {
                $script:small = Join-Path ([IO.Path]::GetTempPath()) "hbops-full-$Id"
                New-Item -ItemType Directory -Path $small | Out-Null
                mount -t tmpfs -o "size=8m,mode=0700,uid=$(id -u $TestEnv.Operator),gid=$(id -g $TestEnv.Operator)" tmpfs $small
                if ($LASTEXITCODE -ne 0) { throw 'could not mount a tmpfs for the disk-full tests' }
            }
            AfterAll {
                umount $small
                Remove-Item -Recurse -Force $small
            }

            It 'a host-side dump that fills the disk is DumpFailed naming ENOSPC, and leaves no file' {
                $err = $null
                try { Invoke-HbBackup @Ssh @Prod -Destination $small -Tag full -Force -RowCounts None -ErrorAction Stop -WarningAction SilentlyContinue } catch { $err = $_ }
                $err.FullyQualifiedErrorId | Should -Be 'DumpFailed,HbOps.InvokeHbBackupCommand'
                $err.Exception.Message | Should -Match 'No space left on device'
                $err.Exception.Message | Should -Match 'ENOSPC'
                Get-ChildItem -Recurse -File -Force $small | Should -BeNullOrEmpty
            }

            It 'a -Local dump that fills the disk is DumpFailed naming ENOSPC, and leaves no file' {
                $err = $null
                try { Invoke-HbBackup @Ssh @Prod -Destination $small -Tag localfull -Local -Force -RowCounts None -ErrorAction Stop -WarningAction SilentlyContinue } catch { $err = $_ }
                $err.FullyQualifiedErrorId | Should -Be 'DumpFailed,HbOps.InvokeHbBackupCommand'
                $err.Exception.Message | Should -Match 'No space left on device'
                $err.Exception.Message | Should -Match 'ENOSPC'
                Get-ChildItem -Recurse -File -Force $small | Should -BeNullOrEmpty
            }
        }
    }

    Context 'Artefacts are private unless a backup group may read them' {
        It 'on the host: folders it creates 0700; dump, manifest, SHA256SUMS and the restore record 0600' {
            $dest = "$HostRoot/private/new/root"
            $a = Invoke-HbBackup @Ssh @Prod -Destination $dest -Tag "priv$Id" -RowCounts None
            foreach ($d in "$HostRoot/private", "$HostRoot/private/new", $dest, $a.RunFolder) { Get-HbMode $d | Should -Be '700' -Because $d }
            foreach ($f in $a.Path, $a.ManifestPath, $a.ChecksumPath) { Get-HbMode $f | Should -Be '600' -Because $f }
            $r = $a | Test-HbRestore
            Get-HbMode $r.RecordPath | Should -Be '600'
        }

        It 'with -Local: folders it creates 0700; dump, manifest, SHA256SUMS and the restore record 0600' {
            $dest = Join-Path $LocalRoot 'private/new/root'
            $a = Invoke-HbBackup @Ssh @Prod -Destination $dest -Local -Tag "lpriv$Id" -RowCounts None
            foreach ($d in (Join-Path $LocalRoot 'private'), (Join-Path $LocalRoot 'private/new'), $dest, $a.RunFolder) { Get-HbMode $d | Should -Be '700' -Because $d }
            foreach ($f in $a.Path, $a.ManifestPath, $a.ChecksumPath) { Get-HbMode $f | Should -Be '600' -Because $f }
            $r = $a | Test-HbRestore
            Get-HbMode $r.RecordPath | Should -Be '600'
        }

        It 'on the host with -GroupReadable: 0750 folders and 0640 files of the backup root''s group (setgid)' {
            $root = "$HostRoot-group"
            New-Item -ItemType Directory -Path $root | Out-Null
            chown "$($TestEnv.Operator):docker" $root
            chmod 2750 $root
            $a = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag grp -GroupReadable -RowCounts None
            Get-HbMode $a.RunFolder | Should -Be '2750'
            Get-HbGroup $a.RunFolder | Should -Be 'docker'
            foreach ($f in $a.Path, $a.ManifestPath, $a.ChecksumPath) {
                Get-HbMode $f | Should -Be '640' -Because $f
                Get-HbGroup $f | Should -Be 'docker' -Because $f
            }
        }

        It 'with -Local -GroupReadable: 0750 folders and 0640 files of the backup root''s group (setgid)' {
            $root = "$LocalRoot-group"
            New-Item -ItemType Directory -Path $root | Out-Null
            chgrp docker $root
            chmod 2750 $root
            $a = Invoke-HbBackup @Ssh @Prod -Destination $root -Local -Tag grp -GroupReadable -RowCounts None
            Get-HbMode $a.RunFolder | Should -Be '2750'
            Get-HbGroup $a.RunFolder | Should -Be 'docker'
            foreach ($f in $a.Path, $a.ManifestPath, $a.ChecksumPath) {
                Get-HbMode $f | Should -Be '640' -Because $f
                Get-HbGroup $f | Should -Be 'docker' -Because $f
            }
        }
    }

    It 'leaves no stray file in the roots it used' {
        Get-HbStrayFiles -Path $HostRoot, $LocalRoot | Should -BeNullOrEmpty
    }
}
