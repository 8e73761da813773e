BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:runbook = Join-Path $PSScriptRoot '../../module/examples/Invoke-HbRunbook.ps1'
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Example runbook (module/examples/Invoke-HbRunbook.ps1)' {
    It 'chains backup, restore test, comparison, teardown and an accepted closure record for a config target' {
        $record = Join-Path ([IO.Path]::GetTempPath()) ('hbops-runbook-' + [guid]::NewGuid().ToString('N') + '.yml')
        $assertion = "@{ Name = 'pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992) AND paired_with IN (991,992)'; Expected = '2' }"
        & $PwshPath -NoProfile -NonInteractive -Command "& '$runbook' -Target contabo-directus -ConfigPath '$($TestEnv.ConfigPath)' -RecordPath '$record' -ModulePath '$ModulePath' -Assertion $assertion" | Out-Null
        $LASTEXITCODE | Should -Be 0
        $r = Import-HbClosureRecord $record
        $r.Accepted | Should -BeTrue
        $r.RowCountComparisons.Count | Should -BeGreaterThan 0
        "$($r.Teardown[0].Status)" | Should -Be 'Removed'
        Remove-Item $record
    }

    It 'takes its assertions from a .psd1 file when started with -File (as cron or systemd start it)' {
        $record = Join-Path ([IO.Path]::GetTempPath()) ('hbops-runbook-' + [guid]::NewGuid().ToString('N') + '.yml')
        $assertions = Join-Path $TestDrive 'assertions.psd1'
        "@{ Assertions = @( @{ Name = 'pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992) AND paired_with IN (991,992)'; Expected = '2' } ) }" |
            Set-Content $assertions
        & $PwshPath -NoProfile -NonInteractive -File $runbook -Target contabo-directus -ConfigPath $TestEnv.ConfigPath -RecordPath $record -ModulePath $ModulePath -AssertionFile $assertions | Out-Null
        $LASTEXITCODE | Should -Be 0
        $r = Import-HbClosureRecord $record
        $r.Accepted | Should -BeTrue
        ($r.Acceptance | Where-Object Criterion -like 'Smoke-test*').Status | Should -Be 'Passed'
        Remove-Item $record
    }

    It 'exits non-zero when a criterion lacks evidence (no smoke-test assertion given)' {
        $record = Join-Path ([IO.Path]::GetTempPath()) ('hbops-runbook-' + [guid]::NewGuid().ToString('N') + '.yml')
        & $PwshPath -NoProfile -NonInteractive -File $runbook -Target contabo-directus -ConfigPath $TestEnv.ConfigPath -RecordPath $record -ModulePath $ModulePath | Out-Null
        $LASTEXITCODE | Should -Be 1
        ((Import-HbClosureRecord $record).Acceptance | Where-Object Criterion -like 'Smoke-test*').Status | Should -Be 'NotEvaluated'
        Remove-Item $record
    }

    It '-WhatIf backs up, creates and writes nothing' {
        $record = Join-Path ([IO.Path]::GetTempPath()) ('hbops-runbook-whatif.yml')
        $before = @(Get-ChildItem -Recurse $TestEnv.BackupRoot -Filter '*.dump').Count
        & $PwshPath -NoProfile -NonInteractive -File $runbook -Target contabo-directus -ConfigPath $TestEnv.ConfigPath -RecordPath $record -ModulePath $ModulePath -WhatIf | Out-Null
        $LASTEXITCODE | Should -Be 0
        $record | Should -Not -Exist
        @(Get-ChildItem -Recurse $TestEnv.BackupRoot -Filter '*.dump').Count | Should -Be $before
        Get-HbLeftovers | Should -BeNullOrEmpty
    }
}
