BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    . (Join-Path $PSScriptRoot 'StorageSetup.ps1')
    $script:root = Join-Path $TestEnv.BackupRoot ('preflight-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    $script:suite = Join-Path $PSScriptRoot '../../module/examples/Preflight.Tests.ps1'
    function Invoke-ExampleSuite([hashtable] $envVars) {
        $set = ($envVars.GetEnumerator() | ForEach-Object { "`$env:$($_.Key) = '$($_.Value)'" }) -join '; '
        $script = "$set; `$env:HBOPS_MODULE_PATH = '$ModulePath'; Import-Module '$env:HBOPS_PESTER_PATH'; `$r = Invoke-Pester -Path '$suite' -PassThru -Output Detailed; exit `$r.FailedCount"
        $out = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
        [pscustomobject]@{ Failed = $LASTEXITCODE; Output = $out }
    }
}

Describe 'Test-HbPreflight' {
    Context 'Parameter validation' {
        It 'requires -Path and takes a TimeSpan -MaxBackupAge' {
            (Get-Command Test-HbPreflight).Parameters['Path'].Attributes.Mandatory | Should -Contain $true
            (Get-Command Test-HbPreflight).Parameters['MaxBackupAge'].ParameterType | Should -Be ([timespan])
        }
        It 'rejects a negative -MinimumBackups' {
            { Test-HbPreflight -Path /x -MinimumBackups -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.TestHbPreflightCommand'
        }
    }

    It 'fails every check on an empty backup root, with readable messages' {
        $checks = Test-HbPreflight @Ssh -Path $root -ErrorAction SilentlyContinue -ErrorVariable err
        $checks.Count | Should -Be 8
        $checks | Where-Object Passed | Should -BeNullOrEmpty
        @($err).Count | Should -Be 8 -Because 'each failed check is also one PreflightFailed error'
        $err.FullyQualifiedErrorId | Sort-Object -Unique | Should -Be 'PreflightFailed,HbOps.TestHbPreflightCommand'
        $err.TargetObject.Name | Should -Be $checks.Name
        ($checks | Where-Object Name -eq 'LatestBackupExists').Message | Should -Match 'No backup found'
    }

    It 'reports a backup that was never restore-tested' {
        Invoke-HbBackup @Ssh @Prod -Destination $root -Tag pf -RowCounts None | Out-Null
        $checks = Test-HbPreflight @Ssh -Path $root -ErrorAction SilentlyContinue -ErrorVariable err
        ($checks | Where-Object Name -eq 'LatestBackupFresh').Passed | Should -BeTrue
        ($checks | Where-Object Name -eq 'ChecksumVerifies').Passed | Should -BeTrue
        ($checks | Where-Object Name -eq 'LatestRestoreTestPassed').Passed | Should -BeFalse
        $err.TargetObject.Name | Should -Be ($checks | Where-Object { -not $_.Passed }).Name
    }

    It 'passes every check after a restore test of the latest backup' {
        Get-HbBackup @Ssh -Path $root | Select-Object -Last 1 | Test-HbRestore | Out-Null
        $checks = Test-HbPreflight @Ssh -Path $root -ErrorVariable err
        $checks | Where-Object { -not $_.Passed } | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'a kept sandbox counts as torn down only once it is gone' {
        $r = Get-HbBackup @Ssh -Path $root | Select-Object -Last 1 | Test-HbRestore -KeepSandbox
        (Test-HbPreflight @Ssh -Path $root -ErrorAction SilentlyContinue | Where-Object Name -eq 'TeardownVerified').Passed | Should -BeFalse
        $r | Remove-HbSandbox -Confirm:$false | Out-Null
        (Test-HbPreflight @Ssh -Path $root | Where-Object Name -eq 'TeardownVerified').Passed | Should -BeTrue
    }

    It '-MaxRestoreMinutes holds the latest restore test to a restore-time objective' {
        $latest = Get-HbRestoreHistory @Ssh -Path $root | Select-Object -Last 1
        $ok = Test-HbPreflight @Ssh -Path $root -MaxRestoreMinutes 60 | Where-Object Name -eq 'RestoreTimeWithinLimit'
        $ok.Passed | Should -BeTrue
        $ok.Observed | Should -Match "^$([regex]::Escape("$($latest.DurationSeconds)")) s "
        $slow = Test-HbPreflight @Ssh -Path $root -MaxRestoreMinutes 0.01 -ErrorAction SilentlyContinue -ErrorVariable err | Where-Object Name -eq 'RestoreTimeWithinLimit'
        $slow.Passed | Should -BeFalse
        $slow.Message | Should -Match 'more than 0.01'
        $err.TargetObject.Name | Should -Be 'RestoreTimeWithinLimit' -Because 'the Test-* rule reports the failed check as a PreflightFailed error too'
        @(Test-HbPreflight @Ssh -Path $root | Where-Object Name -eq 'RestoreTimeWithinLimit').Count | Should -Be 0
    }

    It '-RequireAmcheck fails until the latest restore test ran pg_amcheck, and the observation says whether it ran' {
        $before = Test-HbPreflight @Ssh -Path $root -RequireAmcheck -ErrorAction SilentlyContinue
        ($before | Where-Object Name -eq 'AmcheckPassed').Passed | Should -BeFalse
        ($before | Where-Object Name -eq 'AmcheckPassed').Message | Should -Match 'Test-HbRestore -Amcheck'
        ($before | Where-Object Name -eq 'LatestRestoreTestPassed').Observed | Should -Match 'pg_amcheck NotRun'
        Get-HbBackup @Ssh -Path $root | Select-Object -Last 1 | Test-HbRestore -Amcheck | Out-Null
        $after = Test-HbPreflight @Ssh -Path $root -RequireAmcheck -ErrorVariable err
        ($after | Where-Object Name -eq 'AmcheckPassed').Passed | Should -BeTrue
        ($after | Where-Object Name -eq 'LatestRestoreTestPassed').Observed | Should -Match 'pg_amcheck Passed'
        $after | Where-Object { -not $_.Passed } | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'without a backup the objectives fail with the rest' {
        $empty = Join-Path $TestEnv.BackupRoot ('preflight-empty-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $checks = Test-HbPreflight @Ssh -Path $empty -MaxRestoreMinutes 5 -RequireAmcheck -ErrorAction SilentlyContinue
        $checks.Count | Should -Be 10
        ($checks | Where-Object Name -in 'RestoreTimeWithinLimit', 'AmcheckPassed' | Where-Object Passed) | Should -BeNullOrEmpty
    }

    It 'serializes cleanly with ConvertTo-Json and has a default view' {
        $checks = Test-HbPreflight @Ssh -Path $root
        ($checks | ConvertTo-Json | ConvertFrom-Json).Count | Should -Be 8
        ($checks | Format-Table | Out-String -Width 300) | Should -Match 'Observed'
    }

    It '-Target checks the target''s backup root on its host' {
        $config = New-HbTestConfig -BackupRoot $root
        $checks = Test-HbPreflight -Target pester-target -ConfigPath $config -ErrorVariable err
        $checks.Count | Should -Be 8
        $err | Should -BeNullOrEmpty
        ($checks | Where-Object Name -eq 'LatestBackupExists').Observed | Should -BeLike "$root/*"
    }

    It 'a stale backup fails LatestBackupFresh' {
        (Test-HbPreflight @Ssh -Path $root -MaxBackupAge 00:00:00.001 -ErrorAction SilentlyContinue | Where-Object Name -eq 'LatestBackupFresh').Passed | Should -BeFalse
        { Test-HbPreflight @Ssh -Path $root -MaxBackupAge 00:00:00.001 -ErrorAction Stop } | Should -Throw -ErrorId 'PreflightFailed,HbOps.TestHbPreflightCommand'
    }

    It 'the example Pester suite passes as-is on a good backup root' {
        $res = Invoke-ExampleSuite @{ HBOPS_SSH_HOST = $TestEnv.SshAlias; HBOPS_SSH_CONFIG = $TestEnv.SshConfigPath; HBOPS_BACKUP_ROOT = $root }
        $res.Failed | Should -Be 0 -Because $res.Output
        $res.Output | Should -Match 'Tests Passed: 8'
    }

    It 'the example Pester suite takes the restore-time objective and the pg_amcheck requirement from the environment' {
        $res = Invoke-ExampleSuite @{ HBOPS_SSH_HOST = $TestEnv.SshAlias; HBOPS_SSH_CONFIG = $TestEnv.SshConfigPath; HBOPS_BACKUP_ROOT = $root; HBOPS_MAX_RESTORE_MINUTES = '0.01'; HBOPS_REQUIRE_AMCHECK = '1' }
        $res.Output | Should -Match 'RestoreTimeWithinLimit'
        $res.Output | Should -Match 'AmcheckPassed'
        $res.Failed | Should -Be 1 -Because $res.Output
    }

    It 'the example Pester suite fails with a readable message when a check fails' {
        $res = Invoke-ExampleSuite @{ HBOPS_SSH_HOST = $TestEnv.SshAlias; HBOPS_SSH_CONFIG = $TestEnv.SshConfigPath; HBOPS_BACKUP_ROOT = $root; HBOPS_MAX_BACKUP_AGE = '00:00:00.001' }
        $res.Failed | Should -Be 1
        $res.Output | Should -Match 'LatestBackupFresh'
        $res.Output | Should -Match 'minutes old, older than'
    }

    Context 'Off-host copies and retention' {
        BeforeAll {
            $script:copies = New-HbStorageFolder 'pester-preflight'
            $script:latest = Get-HbBackup @Ssh -Path $root | Select-Object -Last 1
        }
        AfterAll {
            Remove-HbStorageFolder $copies
        }

        It 'passes OffHostCopyExists, OffHostCopyVerified and OffHostCopyFresh once the latest backup is copied' {
            $before = Test-HbPreflight @Ssh -Path $root -CopyPath "storage:$copies" -ErrorAction SilentlyContinue
            ($before | Where-Object Name -eq 'OffHostCopyExists').Message | Should -Match 'has no copy at .*: run Copy-HbBackup'
            $latest | Copy-HbBackup -Destination "storage:$copies" @Sftp | Out-Null
            $checks = Test-HbPreflight @Ssh -Path $root -CopyPath "storage:$copies" -MaxCopyAgeMinutes 120 -ErrorAction SilentlyContinue
            $checks.Count | Should -Be 11
            foreach ($n in 'OffHostCopyExists', 'OffHostCopyVerified', 'OffHostCopyFresh') {
                ($checks | Where-Object Name -eq $n).Passed | Should -BeTrue -Because (($checks | Where-Object Name -eq $n) | Out-String)
            }
            ($checks | Where-Object Name -eq 'OffHostCopyVerified').Observed | Should -Match "recorded read-back sha256 $($latest.Sha256) .*re-read now: sha256 $($latest.Sha256), listed in SHA256SUMS"
            (Test-HbPreflight @Ssh -Path $root -StorageHost storage -CopyPath $copies -ErrorAction SilentlyContinue | Where-Object Name -like 'OffHostCopy*').Passed | Should -Not -Contain $false
        }

        It 'fails OffHostCopyFresh when the newest copy holds a backup older than -MaxCopyAgeMinutes' {
            $stale = New-HbStorageFolder 'pester-stale'
            try {
                New-HbFakeArtefact -Template $latest -Root (Join-Path $TestDrive 'old') -TimestampUtc ([datetime]::UtcNow.AddDays(-2)) |
                    Copy-HbBackup -Destination "storage:$stale" @Sftp | Out-Null
                $checks = Test-HbPreflight @Ssh -Path $root -CopyPath "storage:$stale" -MaxCopyAgeMinutes 1440 -ErrorAction SilentlyContinue -ErrorVariable err
                $fresh = $checks | Where-Object Name -eq 'OffHostCopyFresh'
                $fresh.Passed | Should -BeFalse
                ($err | Where-Object { $_.TargetObject.Name -eq 'OffHostCopyFresh' }).FullyQualifiedErrorId | Should -Be 'PreflightFailed,HbOps.TestHbPreflightCommand'
                { Test-HbPreflight @Ssh -Path $root -CopyPath "storage:$stale" -MaxCopyAgeMinutes 1440 -ErrorAction Stop } | Should -Throw -ErrorId 'PreflightFailed,HbOps.TestHbPreflightCommand'
                $fresh.Message | Should -Match 'holds a backup 28[0-9]{2}(\.[0-9])? minutes old'
                ($checks | Where-Object Name -eq 'OffHostCopyExists').Passed | Should -BeFalse
                ($checks | Where-Object Name -eq 'OffHostCopyVerified').Passed | Should -BeTrue
            }
            finally {
                Remove-HbStorageFolder $stale
            }
        }

        It 'fails OffHostCopyVerified when the copy no longer reads back as recorded' {
            $copy = Get-HbBackup -Path "storage:$copies" @Sftp | Select-Object -Last 1
            $f = [IO.File]::Open((Get-HbStorageLocal $copy.Path), 'Open', 'ReadWrite')
            try { $f.Position = 4096; $b = $f.ReadByte(); $f.Position = 4096; $f.WriteByte($b -bxor 0xFF) } finally { $f.Dispose() }
            $verified = Test-HbPreflight @Ssh -Path $root -CopyPath "storage:$copies" -ErrorAction SilentlyContinue | Where-Object Name -eq 'OffHostCopyVerified'
            $verified.Passed | Should -BeFalse
            $verified.Message | Should -Match 'does not read back as recorded'
        }

        It 'the example Pester suite checks the copies with HBOPS_COPY_PATH' {
            $res = Invoke-ExampleSuite @{ HBOPS_SSH_HOST = $TestEnv.SshAlias; HBOPS_SSH_CONFIG = $TestEnv.SshConfigPath; HBOPS_BACKUP_ROOT = $root; HBOPS_COPY_PATH = "storage:$copies"; HBOPS_MAX_COPY_AGE = '600' }
            $res.Output | Should -Match 'OffHostCopyExists'
            $res.Output | Should -Match 'OffHostCopyVerified'
            $res.Output | Should -Match 'does not read back as recorded'
        }

        It 'RetentionApplied passes when the policy removes nothing and names what is due otherwise' {
            (Test-HbPreflight @Ssh -Path $root -KeepLast 100 -ErrorAction SilentlyContinue | Where-Object Name -eq 'RetentionApplied').Passed | Should -BeTrue
            $old = New-HbFakeArtefact -Template $latest -Root $root -TimestampUtc ([datetime]::UtcNow.AddDays(-3)) -Location Host
            & chown -R "$($TestEnv.Operator):" $root
            $check = Test-HbPreflight @Ssh -Path $root -KeepLast 1 -ErrorAction SilentlyContinue | Where-Object Name -eq 'RetentionApplied'
            $check.Passed | Should -BeFalse
            $check.Observed | Should -Match ([regex]::Escape($old.Path))
            $check.Message | Should -Be 'Retention is not applied: run Remove-HbBackup -KeepLast 1 -MinimumKeep 1.'
            Remove-HbBackup @Ssh -Path $root -KeepLast 1 -Confirm:$false | Out-Null
            (Test-HbPreflight @Ssh -Path $root -KeepLast 1 -ErrorAction SilentlyContinue | Where-Object Name -eq 'RetentionApplied').Passed | Should -BeTrue
        }
    }
}
