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
        $record.Acceptance.Count | Should -Be 9
        $record.Acceptance | ForEach-Object { $_.Evidence | Should -Not -BeNullOrEmpty }
        $yaml = Get-Content -Raw $path
        $yaml | Should -Match 'sha256: [0-9a-f]{64}'
        $yaml | Should -Match "backupMechanism: docker exec postgres pg_dump -U directus -d directus -F c -Z 6 --snapshot="
        $yaml | Should -Match 'snapshotTransaction: repeatable read, read only'
        $yaml | Should -Match 'rule: MissingRoleUserMapping'
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

    It 'a failed restore makes the record not accepted' {
        $f = $a | Test-HbRestore -Assertion @{ Name = 'wrong'; Sql = 'SELECT 1'; Expected = '2' }
        $rec = $a, $f | Export-HbClosureRecord
        $rec.Accepted | Should -BeFalse
        ($rec.Acceptance | Where-Object Criterion -like 'Smoke-test*').Status | Should -Be 'Failed'
    }
}
