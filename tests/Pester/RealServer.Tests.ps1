# Module-wide: every cmdlet that takes -SshHost works the way operators reach real servers: as a non-root account
# whose login shell prints on both streams, through one or two jump hosts (ProxyJump), with a key only the
# ssh-agent holds.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:Jump = @{ SshHost = $TestEnv.JumpAlias; SshConfigPath = $TestEnv.SshConfigPath }
    $script:TwoHop = @{ SshHost = $TestEnv.TwoHopAlias; SshConfigPath = $TestEnv.SshConfigPath }
    $script:root = Join-Path $TestEnv.BackupRoot ('realserver-' + [guid]::NewGuid().ToString('N').Substring(0, 6))

    # Lines the jump hosts' sshd logged since a mark: each forwarded connection is one 'direct-tcpip' request.
    function Get-ForwardCount([string] $log, [int] $skip) {
        @(Get-Content $log | Select-Object -Skip $skip | Select-String 'server_request_direct_tcpip').Count
    }
    function Get-LineCount([string] $log) { @(Get-Content $log).Count }
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Real-server conditions' {
    Context 'The test environment is as hostile as intended' {
        It 'logs in as a non-root account whose shell prints on stdout and stderr' {
            $out = ssh -F $TestEnv.SshConfigPath -o BatchMode=yes $TestEnv.SshAlias 'id -un' 2>&1 | Out-String
            $out | Should -Match 'Welcome to'
            $out | Should -Match 'cannot remove'
            $out | Should -Match $TestEnv.Operator
            $TestEnv.Operator | Should -Not -Be 'root'
        }

        It 'has no private key on disk for the jump alias: the key is only in the agent' {
            $cfg = ssh -G -F $TestEnv.SshConfigPath $TestEnv.JumpAlias
            $files = $cfg | Where-Object { $_ -like 'identityfile *' } | ForEach-Object { ($_ -split ' ', 2)[1] }
            $files | Should -Not -BeNullOrEmpty
            foreach ($f in $files) { ($f -like '*.pub') -or -not (Test-Path $f) | Should -BeTrue -Because "$f must not be a private key" }
            ($cfg | Where-Object { $_ -like 'proxyjump *' }) | Should -Be 'proxyjump hbops-bastion1'
        }
    }

    Context 'Every cmdlet through a jump host with the agent-only key' {
        BeforeAll {
            $script:log1 = $TestEnv.BastionLogs[0]
            $script:mark = Get-LineCount $log1
            $script:artefact = Invoke-HbBackup @Jump @Prod -Destination $root -Tag jump
        }

        It 'Invoke-HbBackup backs up, and the connection went through the jump host' {
            $artefact.Sha256 | Should -Match '^[0-9a-f]{64}$'
            $artefact.Host.ProxyJump | Should -Be 'hbops-bastion1'
            Get-ForwardCount $log1 $mark | Should -BeGreaterThan 0
            (Get-Content $log1 | Select-Object -Skip $mark | Select-String 'server_request_direct_tcpip') -join "`n" |
                Should -Match "127\.0\.0\.1.*$($TestEnv.SshPort)"
        }

        It 'Get-HbBackup, Test-HbBackup and Test-HbPreflight read it back through the jump host' {
            $listed = Get-HbBackup @Jump -Path $root
            $listed.Sha256 | Should -Be $artefact.Sha256
            $v = $listed | Test-HbBackup
            $v.ChecksumMatches | Should -BeTrue
            $v.Readable | Should -BeTrue
            # Not restore-tested yet: those checks fail, each also a PreflightFailed error (the Test-* rule).
            $checks = Test-HbPreflight @Jump -Path $root -ErrorAction SilentlyContinue -ErrorVariable preflightErrors
            ($checks | Where-Object Name -eq 'LatestBackupExists').Passed | Should -BeTrue
            $preflightErrors.FullyQualifiedErrorId | Sort-Object -Unique | Should -Be 'PreflightFailed,HbOps.TestHbPreflightCommand'
        }

        It 'Test-HbRestore, Compare-HbRowCounts, Get-HbSandbox and Remove-HbSandbox work on the piped objects' {
            $before = Get-ForwardCount $log1 $mark
            $r = $artefact | Test-HbRestore -KeepSandbox
            try {
                "$($r.Result)" | Should -Be 'PassedWithNotes'
                ($r | Compare-HbRowCounts | Where-Object { -not $_.Match }) | Should -BeNullOrEmpty
                (Get-HbSandbox @Jump -Name $r.Sandbox.Name).Name | Should -Be $r.Sandbox.Name
            } finally {
                $removal = $r.Sandbox | Remove-HbSandbox -Confirm:$false
            }
            $removal.Verified | Should -BeTrue
            Get-ForwardCount $log1 $mark | Should -BeGreaterThan $before
        }

        It 'New-HbSandbox makes a sandbox through the jump host' {
            $sb = $artefact | New-HbSandbox
            try { "$($sb.Host.ProxyJump)" | Should -Be 'hbops-bastion1' }
            finally { ($sb | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue }
        }
    }

    Context 'Operators whose login shell is not bash' {
        # sshd hands every command to the account's login shell; these differ in how they read a command line.
        It 'backs up, verifies, lists, restore-tests (host and -Local) and tears down as an operator whose login shell is <Shell>' -ForEach @(
            @{ Shell = 'fish' }, @{ Shell = 'tcsh' }, @{ Shell = 'zsh' }
        ) {
            $account = $TestEnv.OtherShells | Where-Object Shell -eq $Shell
            $account | Should -Not -BeNullOrEmpty -Because "the test environment has a $Shell operator"
            $noise = ssh -F $TestEnv.SshConfigPath -o BatchMode=yes $account.Alias 'true' 2>&1 | Out-String
            $noise | Should -Match "$Shell" -Because 'its start-up files print on every command'
            $via = @{ SshHost = $account.Alias; SshConfigPath = $TestEnv.SshConfigPath }
            $a = Invoke-HbBackup @via @Prod -Destination $account.BackupRoot -Tag "shell-$Shell" -KeyTables public.dot_tools
            ($a | Test-HbBackup).Status | Should -Be 'Verified'
            (Get-HbBackup @via -Path $account.BackupRoot | Where-Object Path -eq $a.Path) | Should -Not -BeNullOrEmpty
            $r = $a | Test-HbRestore -KeepSandbox
            try {
                "$($r.Result)" | Should -Be 'PassedWithNotes'
                (Get-HbSandbox @via -Name $r.Sandbox.Name).Name | Should -Be $r.Sandbox.Name
            }
            finally { ($r.Sandbox | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue }
            $dir = Join-Path ([IO.Path]::GetTempPath()) ("hbops-shell-$Shell-" + [guid]::NewGuid().ToString('N').Substring(0, 6))
            try {
                $l = Invoke-HbBackup @via @Prod -Destination $dir -Local -Tag "shell-$Shell" -RowCounts None | Test-HbRestore
                "$($l.Result)" | Should -Be 'PassedWithNotes'
            }
            finally { Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue }
        }
    }

    Context 'Through a chain of two jump hosts' {
        It 'backs up and restore-tests, each hop forwarding to the next' {
            $log1 = $TestEnv.BastionLogs[0]; $log2 = $TestEnv.BastionLogs[1]
            $m1 = Get-LineCount $log1; $m2 = Get-LineCount $log2
            $r = Invoke-HbBackup @TwoHop @Prod -Destination $root -Tag twohop -RowCounts None | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            (Get-Content $log1 | Select-Object -Skip $m1 | Select-String 'server_request_direct_tcpip') -join "`n" | Should -Match '127\.0\.0\.3'
            (Get-Content $log2 | Select-Object -Skip $m2 | Select-String 'server_request_direct_tcpip') -join "`n" | Should -Match "127\.0\.0\.1.*$($TestEnv.SshPort)"
        }
    }
}
