BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Get-HbSandbox' {
    Context 'Parameter validation' {
        It 'accepts wildcards in -Name' {
            (Get-Command Get-HbSandbox).Parameters['Name'].Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] } | Should -Not -BeNullOrEmpty
        }
    }

    It 'lists a kept sandbox by label, and -Expired | Remove-HbSandbox sweeps an expired one' {
        $r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag sweep -RowCounts None | Test-HbRestore -KeepSandbox -TimeToLiveMinutes 1
        $s = Get-HbSandbox @Ssh -Name 'pg-restore-test-sweep-*'
        $s.Name | Should -Be $r.Sandbox.Name
        $s.IsolationVerified | Should -BeTrue
        Get-HbSandbox @Ssh -Expired | Where-Object Name -eq $r.Sandbox.Name | Should -BeNullOrEmpty
        Start-Sleep -Seconds 61
        $removed = Get-HbSandbox @Ssh -Expired | Remove-HbSandbox -Confirm:$false
        ($removed | Where-Object Name -eq $r.Sandbox.Name).Verified | Should -BeTrue
    }

    It 'lists kept sandboxes with their evidence, serializable to JSON' {
        $r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag listjson -RowCounts None | Test-HbRestore -KeepSandbox -WarningAction SilentlyContinue
        try {
            $s = Get-HbSandbox @Ssh -Name $r.Sandbox.Name
            ($s | ConvertTo-Json -Depth 4 | ConvertFrom-Json).NetworkMode | Should -Be 'none'
            ($s | Format-Table | Out-String -Width 300) | Should -Match 'Isolated'
        }
        finally { $r | Remove-HbSandbox -Confirm:$false | Out-Null }
    }

    It 'never lists the production container' {
        (Get-HbSandbox @Ssh).Name | Should -Not -Contain $TestEnv.Container
    }
}
