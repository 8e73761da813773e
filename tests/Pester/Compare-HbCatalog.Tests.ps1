BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag catalog | Test-HbRestore -KeepSandbox
    function Invoke-Sandbox([string] $sql) { docker exec $r.Sandbox.Name psql -X -q -At -U directus -d directus -c $sql }
}

AfterAll {
    $r | Remove-HbSandbox -Confirm:$false | Out-Null
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Compare-HbCatalog' {
    Context 'Parameter validation' {
        It 'binds Artefact and Sandbox by property name and has -Summary' {
            foreach ($n in 'Artefact', 'Sandbox') {
                $attr = (Get-Command Compare-HbCatalog).Parameters[$n].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
                $attr.ValueFromPipelineByPropertyName | Should -Contain $true
            }
            (Get-Command Compare-HbCatalog).Parameters['Summary'].SwitchParameter | Should -BeTrue
        }
        It 'rejects an unknown -Difference' {
            { $r | Compare-HbCatalog -Difference ArtefactSnapshot } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.CompareHbCatalogCommand'
        }
        It 'needs a catalog for the artefact-snapshot reference' {
            $bare = Copy-HbArtefact $r.Artefact { param($a) $a.Catalog = $null }
            { $bare | Compare-HbCatalog -SandboxName $r.Sandbox.Name -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbCatalogCommand'
        }
        It 'refuses the same side twice' {
            { $r | Compare-HbCatalog -Reference Production -Difference Production -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbCatalogCommand'
        }
    }

    Context 'The dump''s snapshot vs the kept sandbox' {
        It 'emits only the differences a restore explains, each with its reason' {
            $d = $r | Compare-HbCatalog
            $d[0] | Should -BeOfType 'HbOps.Model.HbCatalogDifference'
            @($d | Where-Object { "$($_.Classification)" -ne 'Expected' }) | Should -BeNullOrEmpty
            ($d | Where-Object { "$($_.Change)" -eq 'Owner' -and $_.Name -eq 'reading_log' }).Reason | Should -Match '--no-owner'
            ($d | Where-Object { "$($_.Change)" -eq 'Privileges' }).Reason | Should -Match '--no-privileges'
            ($d | Where-Object { "$($_.Kind)" -eq 'UserMapping' }).Reason | Should -Match "no role 'workflow_admin'"
            ($d | Format-Table | Out-String -Width 300) | Should -Match 'Classification'
        }

        It '-Summary emits counts per schema and kind on both sides' {
            $s = $r | Compare-HbCatalog -Summary
            $s | Should -BeOfType 'HbOps.Model.HbCatalogComparison'
            $s.UnexpectedCount | Should -Be 0
            $s.ReferenceObjects | Should -Be $r.Artefact.Catalog.ObjectCount
            $tables = $s.Counts | Where-Object { $_.Schema -eq 'proof' -and "$($_.Kind)" -eq 'Table' }
            $tables.Reference | Should -Be 8
            $tables.Match | Should -BeTrue
            ($s | Format-Table | Out-String) | Should -Match 'Unexpected'
        }

        It 'names a dropped function (and the trigger it took along) and a sequence set back as Unexpected' {
            Invoke-Sandbox "DROP FUNCTION proof.log_reading() CASCADE; SELECT setval('proof.measurements_id_seq', 12000)" | Out-Null
            $u = @($r | Compare-HbCatalog | Where-Object { "$($_.Classification)" -eq 'Unexpected' })
            ($u | ForEach-Object { "$($_.Change) $($_.Kind) $($_.QualifiedName)" } | Sort-Object) | Should -Be @(
                'Definition Sequence proof.measurements_id_seq', 'Missing Function proof.log_reading()', 'Missing Trigger proof.readings.readings_log')
            ($u | Where-Object Name -eq 'measurements_id_seq').Reason | Should -Match 'behind'
            ($u | Where-Object Name -eq 'measurements_id_seq').Reference | Should -Be '50000'
        }
    }

    Context 'Production named directly' {
        It 'compares live production (read-only) with a sandbox by name' {
            $s = Compare-HbCatalog @Ssh @Prod -Reference Production -SandboxName $r.Sandbox.Name -Summary
            "$($s.ReferenceSource)" | Should -Be 'Production'
            ($s.Differences | Where-Object { $_.Name -eq 'reading_log' -and "$($_.Change)" -eq 'Owner' }).Classification | Should -Be 'Expected'
        }
    }
}
