BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    . (Join-Path $PSScriptRoot 'StorageSetup.ps1')
    $script:hostRoot = Join-Path $TestEnv.BackupRoot ('premove-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    # A real artefact: the fake ones of different ages are made from its manifest.
    $script:template = Invoke-HbBackup @Ssh @Prod -Destination $hostRoot -Tag premove -RowCounts None
    $script:now = [datetime]::UtcNow

    # Artefacts at -Root, one per age in days (a fractional age keeps two on one day apart); returns them oldest first.
    function New-HbAged([string] $Root, [double[]] $AgeDays, [string] $Location = 'Local') {
        foreach ($d in $AgeDays) { $null = New-HbFakeArtefact -Template $template -Root $Root -TimestampUtc $now.AddDays(-$d) -SizeBytes 4096 -Location $Location }
        Get-HbBackup -Path $Root -Local
    }

    # A restore-test record beside an artefact, as Test-HbRestore writes it.
    function Set-HbRestoreRecord([HbOps.Model.HbBackupArtefact] $Artefact, [string] $Result) {
        Set-Content -LiteralPath ($Artefact.Path + '.restore-20261130T000000Z.yml') -Value "result: $Result"
    }
}

AfterAll {
    Remove-Item -Recurse -Force -LiteralPath $hostRoot -ErrorAction SilentlyContinue
}

Describe 'Remove-HbBackup' {
    Context 'Parameter validation' {
        It 'supports -WhatIf and -Confirm with a high confirm impact' {
            $c = Get-Command Remove-HbBackup
            $c.Parameters.Keys | Should -Contain 'WhatIf'
            $c.Parameters.Keys | Should -Contain 'Confirm'
            ($c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)).ConfirmImpact | Should -Be 'High'
            ($c.Parameters['Artefact'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -Contain $true
        }
        It 'refuses to run without a rule (it would remove everything)' {
            { Remove-HbBackup -Path $TestDrive -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.RemoveHbBackupCommand'
        }
        It 'refuses negative counts' {
            { Remove-HbBackup -Path $TestDrive -KeepLast -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.RemoveHbBackupCommand'
        }
    }

    It '-WhatIf lists exactly the artefacts that would go, with the reason, and removes nothing' {
        $root = Join-Path $TestDrive 'whatif'
        $all = New-HbAged $root 1, 2, 3, 4, 5
        $out = & $PwshPath -NoProfile -NonInteractive -Command "Import-Module '$(Join-Path $ModulePath 'HbOps.psd1')'; Remove-HbBackup -Path '$root' -KeepLast 2 -WhatIf" 2>&1
        $LASTEXITCODE | Should -Be 0
        $lines = @($out | Where-Object { "$_" -like 'What if:*' })
        $listed = $lines | ForEach-Object { if ("$_" -match "on target `"'([^']+)' on this machine`"") { $Matches[1] } }
        $listed | Sort-Object | Should -Be ($all[0..2].Path | Sort-Object)
        $lines | ForEach-Object { "$_" | Should -Match 'Remove backup \(kept by no rule\)' }
        $all | ForEach-Object { $_.Path | Should -Exist }
    }

    It 'keeps the newest N, the newest restore-tested one, and removes the rest with their SHA256SUMS lines' {
        $root = Join-Path $TestDrive 'keeplast'
        $all = New-HbAged $root 1, 2, 3, 4, 5
        Set-HbRestoreRecord $all[1] 'Passed'     # 4 days old: the newest restore-tested artefact
        Set-HbRestoreRecord $all[0] 'Passed'
        $removed = Remove-HbBackup -Path $root -KeepLast 2 -Confirm:$false -Verbose 4>&1
        $verbose = @($removed | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $removed = @($removed | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $removed.Path | Sort-Object | Should -Be (@($all[0].Path, $all[2].Path) | Sort-Object)
        $removed | ForEach-Object { $_.GetType().Name | Should -Be 'HbBackupRemoval'; $_.Reason | Should -Be 'kept by no rule'; $_.Policy | Should -Be '-KeepLast 2 -MinimumKeep 1' }
        # Everything of the removed artefacts went, the SHA256SUMS and run folder with them (one artefact per folder here).
        foreach ($r in $removed) {
            $r.FilesRemoved | Should -Contain $r.Path
            $r.FilesRemoved | Should -Contain ($r.Path + '.manifest.yml')
            $r.Path | Should -Not -Exist
            Split-Path $r.Path | Should -Not -Exist
        }
        $all[1].Path | Should -Exist
        ($verbose | Where-Object { "$_" -like "Keeping $($all[1].Path)*" }) -join "`n" | Should -Match 'guard: the newest artefact of this database here whose latest restore test passed'
        @(Get-HbBackup -Path $root -Local).Count | Should -Be 3
    }

    It 'removes only the artefact''s lines from a shared SHA256SUMS and leaves the folder to the others' {
        $root = Join-Path $TestDrive 'shared'
        $all = New-HbAged $root 1.2, 1.1, 1.0
        $all[0].RunFolder | Should -Be $all[2].RunFolder
        $removed = Remove-HbBackup -Path $root -KeepLast 2 -Confirm:$false
        $removed.Path | Should -Be $all[0].Path
        $sums = Get-Content (Join-Path $all[0].RunFolder 'SHA256SUMS')
        $sums.Count | Should -Be 4
        $sums | Where-Object { $_ -like "*$($all[0].FileName)*" } | Should -BeNullOrEmpty
        (& sh -c "cd '$($all[0].RunFolder)' && sha256sum -c SHA256SUMS") -join "`n" | Should -Not -Match 'FAILED'
    }

    It '-OlderThan never brings a location below -MinimumKeep' {
        $root = Join-Path $TestDrive 'older'
        $all = New-HbAged $root 10, 11, 12, 13
        $removed = Remove-HbBackup -Path $root -OlderThan 7.00:00:00 -MinimumKeep 2 -Confirm:$false
        $removed.Path | Sort-Object | Should -Be (@($all[0].Path, $all[1].Path) | Sort-Object)
        @(Get-HbBackup -Path $root -Local).Path | Sort-Object | Should -Be (@($all[2].Path, $all[3].Path) | Sort-Object)
    }

    It 'keeps the newest of each day with -KeepDaily' {
        $root = Join-Path $TestDrive 'daily'
        $all = New-HbAged $root 3.1, 3.0, 2.1, 2.0, 1.1, 1.0
        $removed = Remove-HbBackup -Path $root -KeepDaily 2 -MinimumKeep 0 -Confirm:$false
        # Keeps the newest of the last two days that have backups; the third day goes entirely.
        @(Get-HbBackup -Path $root -Local).TimestampUtc | Sort-Object | Should -Be (@($all[3].TimestampUtc, $all[5].TimestampUtc) | Sort-Object)
        $removed.Count | Should -Be 4
    }

    It 'removes artefacts on the docker host over SSH as the operator account' {
        $root = Join-Path $hostRoot 'aged'
        $null = New-HbAged $root 3, 2, 1 -Location Host
        # Laid out as on a real host: owned by the operator account, closed to others.
        & chown -R "$($TestEnv.Operator):" $root
        & chmod 700 $root
        $removed = Remove-HbBackup @Ssh -Path $root -KeepLast 1 -Confirm:$false
        $removed.Count | Should -Be 2
        ($removed.Location | ForEach-Object { "$_" } | Sort-Object -Unique) | Should -Be 'Host'
        $removed.Where | Should -Match "^$([regex]::Escape($TestEnv.SshAlias)) \("
        $removed | ForEach-Object { $_.FilesRemoved.Count | Should -Be 2; $_.Path | Should -Not -Exist; Split-Path $_.Path | Should -Not -Exist }
        @(Get-HbBackup @Ssh -Path $root).Count | Should -Be 1
    }

    It 'on the SFTP storage keeps the last verified off-host copy of the newest copied backup, even when every copy is old' {
        $src = Join-Path $TestDrive 'tocopy'
        $store = New-HbStorageFolder 'pester-retention'
        try {
            $originals = New-HbAged $src 12, 11, 10
            $copies = $originals | Copy-HbBackup -Destination "storage:$store" @Sftp
            $copies.Count | Should -Be 3
            $out = Remove-HbBackup -Path "storage:$store" @Sftp -OlderThan 1.00:00:00 -MinimumKeep 0 -Confirm:$false -Verbose 4>&1
            $removed = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $removed.Path | Sort-Object | Should -Be (@($copies[0].Path, $copies[1].Path) | Sort-Object)
            ($removed.Location | ForEach-Object { "$_" }) | Should -Be @('Sftp', 'Sftp')
            ($out | Where-Object { "$_" -like "Keeping $($copies[2].Path)*" }) -join "`n" | Should -Match 'guard: the last verified off-host copy'
            Get-HbStorageLocal $copies[2].Path | Should -Exist
            Get-HbStorageLocal $copies[0].Path | Should -Not -Exist
            Get-HbStorageLocal (Split-Path $copies[0].Path) | Should -Not -Exist

            # From the pipeline across both locations: every original may go, the copy stays.
            $both = @(Get-HbBackup -Path $src -Local) + @(Get-HbBackup -Path "storage:$store" @Sftp)
            $gone = $both | Remove-HbBackup -OlderThan 1.00:00:00 -MinimumKeep 0 -Confirm:$false
            ($gone.Location | ForEach-Object { "$_" } | Sort-Object -Unique) | Should -Be 'Local'
            $gone.Count | Should -Be 3
            @(Get-HbBackup -Path "storage:$store" @Sftp).Count | Should -Be 1
        }
        finally {
            Remove-HbStorageFolder $store
        }
    }
}
