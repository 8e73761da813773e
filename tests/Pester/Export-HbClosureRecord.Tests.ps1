BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag closure
    $script:r = $a | Test-HbRestore -KeepSandbox -Assertion @{ Name = 'pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992) AND paired_with IN (991,992)'; Expected = '2' }
    $script:c = $r | Compare-HbRowCounts
    $script:x = $r | Remove-HbSandbox -Confirm:$false
    $script:path = Join-Path ([IO.Path]::GetTempPath()) ('hbops-closure-' + [guid]::NewGuid().ToString('N') + '.yml')
    $script:record = @($a, $r) + $c + @($x) | Export-HbClosureRecord -Path $path -Title 'pester drill'
}

AfterAll {
    Remove-Item $path -ErrorAction SilentlyContinue
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Export-HbClosureRecord' {
    Context 'Parameter validation' {
        It 'takes objects from the pipeline and supports -WhatIf' {
            (Get-Command Export-HbClosureRecord).Parameters.Keys | Should -Contain 'WhatIf'
            { Export-HbClosureRecord -InputObject $a -Path '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.ExportHbClosureRecordCommand'
        }
        It '-WhatIf writes nothing' {
            $p = Join-Path ([IO.Path]::GetTempPath()) 'hbops-whatif-record.yml'
            $a | Export-HbClosureRecord -Path $p -WhatIf | Out-Null
            $p | Should -Not -Exist
        }
    }

    It 'writes a YAML record where every acceptance criterion passed from evidence' {
        $path | Should -Exist
        $record.Accepted | Should -BeTrue
        $record.Acceptance.Count | Should -Be 11
        ($record.Acceptance | Where-Object Criterion -like '*content equals the backup snapshot').Evidence | Should -Match '^41/41 tables equal \(sum-hashtextextended-v1\)$'
        ($record.Acceptance | Where-Object Criterion -like 'The restored catalog*').Evidence | Should -Match '0 unexpected, 4 expected difference\(s\)'
        $record.Acceptance | ForEach-Object { $_.Evidence | Should -Not -BeNullOrEmpty }
        $yaml = Get-Content -Raw $path
        $yaml | Should -Match 'sha256: [0-9a-f]{64}'
        $yaml | Should -Match "backupMechanism: docker exec postgres pg_dump -U directus -d directus -F c -Z 6 --snapshot="
        $yaml | Should -Match 'snapshotTransaction: repeatable read, read only'
        $yaml | Should -Match 'rule: MissingRoleUserMapping'
    }

    It 'accepts the same evidence read back with Import-Clixml or rebuilt from JSON' {
        $file = Join-Path $TestDrive 'evidence.xml'
        @($a, $r) + $c + @($x) | Export-Clixml $file
        $fromXml = Import-Clixml $file | Export-HbClosureRecord -Title 'from clixml' -WarningVariable w
        $w | Should -BeNullOrEmpty
        $fromXml.Accepted | Should -BeTrue
        ($fromXml.Acceptance | ForEach-Object { "$($_.Status)" }) | Should -Be ($record.Acceptance | ForEach-Object { "$($_.Status)" })
        $fromXml.Backup.Sha256 | Should -Be $a.Sha256
        $fromXml.RowCountComparisons.Count | Should -Be @($c).Count
        $json = @($a, $r) + $c + @($x) | ForEach-Object { $_ | ConvertTo-Json -Depth 10 -Compress -EnumsAsStrings }
        $fromJson = $json | ForEach-Object { $_ | ConvertFrom-Json } | Export-HbClosureRecord -Title 'from json'
        ($fromJson.Acceptance | ForEach-Object { "$($_.Status)" }) | Should -Be ($record.Acceptance | ForEach-Object { "$($_.Status)" })
    }

    It 'takes the comparisons when they arrive as one array ($a, $r, $c, $x | ...)' {
        $rec = $a, $r, $c, $x | Export-HbClosureRecord -WarningVariable w
        $w | Should -BeNullOrEmpty
        $rec.RowCountComparisons.Count | Should -Be @($c).Count
        $rec.Accepted | Should -BeTrue
    }

    It 'still ignores, with a warning, objects that carry no evidence' {
        $null = [pscustomobject]@{ Name = 'x' }, 'text' | Export-HbClosureRecord -WarningVariable w -WarningAction SilentlyContinue
        $w.Count | Should -Be 2
    }

    It 'never contains a secret' {
        Get-Content -Raw $path | Should -Not -Match 'fdw-mapping-secret|fixture-role-secret|POSTGRES_PASSWORD'
    }

    It 'marks criteria without evidence NotEvaluated, never Passed' {
        $only = $a | Export-HbClosureRecord
        $only.Accepted | Should -BeFalse
        ($only.Acceptance | Where-Object Criterion -like 'Sandbox container*').Status | Should -Be 'NotEvaluated'
        ($only.Acceptance | Where-Object Criterion -like 'Backup completed*').Status | Should -Be 'Passed'
    }

    It 'a restore test with -Amcheck adds its criterion, decided by what pg_amcheck found' {
        $m = $a | Test-HbRestore -Amcheck -Assertion @{ Name = 'pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992)'; Expected = '2' }
        $rec = $a, $m | Export-HbClosureRecord
        $amcheck = $rec.Acceptance | Where-Object Criterion -like 'pg_amcheck*'
        "$($amcheck.Status)" | Should -Be 'Passed'
        $amcheck.Evidence | Should -Match '^pg_amcheck -U directus .*: exit 0; no corruption found in \d+ relations'
        $rec.Acceptance.Count | Should -Be 12
    }

    It 'a failed restore makes the record not accepted' {
        $f = $a | Test-HbRestore -Assertion @{ Name = 'wrong'; Sql = 'SELECT 1'; Expected = '2' } -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'RestoreTestFailed,HbOps.TestHbRestoreCommand'
        $rec = $a, $f | Export-HbClosureRecord
        $rec.Accepted | Should -BeFalse
        ($rec.Acceptance | Where-Object Criterion -like 'Smoke-test*').Status | Should -Be 'Failed'
    }
}
