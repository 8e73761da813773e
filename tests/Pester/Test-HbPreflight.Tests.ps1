BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
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

    It 'the example Pester suite fails with a readable message when a check fails' {
        $res = Invoke-ExampleSuite @{ HBOPS_SSH_HOST = $TestEnv.SshAlias; HBOPS_SSH_CONFIG = $TestEnv.SshConfigPath; HBOPS_BACKUP_ROOT = $root; HBOPS_MAX_BACKUP_AGE = '00:00:00.001' }
        $res.Failed | Should -Be 1
        $res.Output | Should -Match 'LatestBackupFresh'
        $res.Output | Should -Match 'minutes old, older than'
    }
}
