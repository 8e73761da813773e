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

    It 'lists kept sandboxes by label; -Expired | Remove-HbSandbox sweeps one, and Test-HbRestore sweeps the rest before it starts' {
        $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag sweep -RowCounts None
        $first = $a | Test-HbRestore -KeepSandbox -TimeToLiveMinutes 1 -WarningAction SilentlyContinue
        $second = $a | Test-HbRestore -KeepSandbox -TimeToLiveMinutes 1 -WarningAction SilentlyContinue
        $second.Sandbox.Name | Should -Not -Be $first.Sandbox.Name -Because 'a taken name gets a unique suffix'
        $s = Get-HbSandbox @Ssh -Name 'pg-restore-test-sweep-*'
        $s.Name | Sort-Object | Should -Be (@($first.Sandbox.Name, $second.Sandbox.Name) | Sort-Object)
        $s | ForEach-Object { $_.IsolationVerified | Should -BeTrue }
        Get-HbSandbox @Ssh -Expired | Where-Object Name -like 'pg-restore-test-sweep-*' | Should -BeNullOrEmpty
        Start-Sleep -Seconds 61
        $removed = Get-HbSandbox @Ssh -Expired | Where-Object Name -eq $first.Sandbox.Name | Remove-HbSandbox -Confirm:$false
        $removed.Verified | Should -BeTrue
        $log = $a | Test-HbRestore -Verbose -WarningAction SilentlyContinue 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($log.Message -join "`n") | Should -Match ([regex]::Escape("Sweeping expired sandbox '$($second.Sandbox.Name)'"))
        Get-HbSandbox @Ssh -Name 'pg-restore-test-sweep-*' | Should -BeNullOrEmpty
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
