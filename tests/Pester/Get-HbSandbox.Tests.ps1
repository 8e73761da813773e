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
        # Half a minute: long enough to see both listed as not yet expired, short enough to await the expiry.
        $first = $a | Test-HbRestore -KeepSandbox -TimeToLiveMinutes 0.5 -WarningAction SilentlyContinue
        $second = $a | Test-HbRestore -KeepSandbox -TimeToLiveMinutes 0.5 -WarningAction SilentlyContinue
        $second.Sandbox.Name | Should -Not -Be $first.Sandbox.Name -Because 'a taken name gets a unique suffix'
        $s = Get-HbSandbox @Ssh -Name 'pg-restore-test-sweep-*'
        $s.Name | Sort-Object | Should -Be (@($first.Sandbox.Name, $second.Sandbox.Name) | Sort-Object)
        $s | ForEach-Object { $_.IsolationVerified | Should -BeTrue }
        Get-HbSandbox @Ssh -Expired | Where-Object Name -like 'pg-restore-test-sweep-*' | Should -BeNullOrEmpty
        Wait-HbCondition { Get-HbSandbox @Ssh -Expired | Where-Object Name -eq $second.Sandbox.Name } 60 | Should -BeTrue -Because 'both expire after 30 s'
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

    Context 'A kept sandbox' {
        BeforeAll {
            $script:kept = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag getsb -RowCounts None | New-HbSandbox -TimeToLiveMinutes 30
        }
        AfterAll {
            $kept | Remove-HbSandbox -Confirm:$false | Out-Null
        }

        It 'writes verbose output: where it looks and what it found' {
            $log = Get-HbSandbox @Ssh -Name $kept.Name -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $text = $log.Message -join "`n"
            $text | Should -Match ([regex]::Escape("labelled hbops.sandbox=true on $($TestEnv.SshAlias)"))
            $text | Should -Match ([regex]::Escape("1 match -Name '$($kept.Name)'"))
        }

        It '-Target lists the sandboxes on the target''s host' {
            $config = New-HbTestConfig -BackupRoot $TestEnv.BackupRoot
            (Get-HbSandbox -Target pester-target -ConfigPath $config -Name $kept.Name).Name | Should -Be $kept.Name
        }

        It 'completes -Name from the engine of the given -SshHost, never from file names' {
            Push-Location $TestDrive
            try {
                New-Item -ItemType File 'pg-restore-test-getsb-file.txt' | Out-Null
                $offered = Get-HbCompletion "Get-HbSandbox -SshHost $($TestEnv.SshAlias) -SshConfigPath $($TestEnv.SshConfigPath) -Name pg-restore-test-getsb"
                $offered | Should -Contain $kept.Name
                $offered | Where-Object { $_ -like '*.txt' } | Should -BeNullOrEmpty
                # The same engine through an account that may not use docker: nothing to offer, so the completer asked that host.
                Get-HbCompletion "Get-HbSandbox -SshHost $($TestEnv.NoDockerAlias) -SshConfigPath $($TestEnv.SshConfigPath) -Name pg-restore-test-getsb" |
                    Should -BeNullOrEmpty
            } finally { Pop-Location }
        }

        It 'completes -Name for -Target from the target''s host' {
            $config = New-HbTestConfig -BackupRoot $TestEnv.BackupRoot
            Get-HbCompletion "Get-HbSandbox -Target pester-target -ConfigPath $config -Name pg-restore-test-getsb" | Should -Contain $kept.Name
        }

        It 'completes -SshHost from the ssh config that $PSDefaultParameterValues names' {
            Get-HbCompletion 'Get-HbSandbox -SshHost contabo-no' | Should -BeNullOrEmpty -Because '~/.ssh/config does not define the test aliases'
            $saved = $PSDefaultParameterValues.Clone()
            try {
                $PSDefaultParameterValues['*-Hb*:SshConfigPath'] = $TestEnv.SshConfigPath
                Get-HbCompletion 'Get-HbSandbox -SshHost contabo-no' | Should -Be @($TestEnv.NoDockerAlias)
                # ... and the sandbox-name completer reaches the host through that config too.
                Get-HbCompletion "Get-HbSandbox -SshHost $($TestEnv.SshAlias) -Name pg-restore-test-getsb" | Should -Contain $kept.Name
            } finally { $global:PSDefaultParameterValues = $saved }
        }
    }
}
