BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag compare | Test-HbRestore -KeepSandbox
}

AfterAll {
    $r | Remove-HbSandbox -Confirm:$false | Out-Null
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Compare-HbRowCounts' {
    Context 'Parameter validation' {
        It 'binds Artefact and Sandbox by property name' {
            foreach ($n in 'Artefact', 'Sandbox') {
                $attr = (Get-Command Compare-HbRowCounts).Parameters[$n].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
                $attr.ValueFromPipelineByPropertyName | Should -Contain $true
            }
        }
        It 'rejects an unknown -Reference' {
            { $r | Compare-HbRowCounts -Reference Elsewhere } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.CompareHbRowCountsCommand'
        }
        It 'needs a sandbox side' {
            { Compare-HbRowCounts @Ssh -Database directus -User directus -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbRowCountsCommand'
        }
    }

    Context 'Production vs kept sandbox' {
        It 'emits one matching comparison per table when piped from Test-HbRestore -KeepSandbox' {
            $c = $r | Compare-HbRowCounts
            $c.Count | Should -Be $r.Artefact.RowCountSnapshot.TableCount
            $c[0] | Should -BeOfType 'HbOps.Model.HbRowCountComparison'
            @($c | Where-Object { -not $_.Match }) | Should -BeNullOrEmpty
            ($c | Where-Object Table -eq 'dot_tools').Reference | Should -Be 992
            "$(($c | Select-Object -First 1).ReferenceSource)" | Should -Be 'Production'
        }

        It 'serializes cleanly with ConvertTo-Json' {
            $json = $r | Compare-HbRowCounts -Table 'public.dot_tools' | ConvertTo-Json | ConvertFrom-Json
            $json.Table | Should -Be 'dot_tools'
            $json.Match | Should -BeTrue
        }

        It 'compares with the artefact snapshot and filters tables' {
            $c = $r | Compare-HbRowCounts -Reference ArtefactSnapshot -Table 'public.*' -ExcludeTable 'directus_*'
            @($c).Count | Should -Be 1
            $c.Table | Should -Be 'dot_tools'
            "$($c.ReferenceSource)" | Should -Be 'ArtefactSnapshot'
        }

        It 'detects a difference (rows deleted in the sandbox only)' {
            docker exec $r.Sandbox.Name psql -U directus -d directus -qAtc 'DELETE FROM etl.errors' | Out-Null
            $c = $r | Compare-HbRowCounts -Table 'etl.errors'
            $c.Match | Should -BeFalse
            $c.Delta | Should -Be -1
            (Invoke-Expression "docker exec $($TestEnv.Container) psql -U directus -d directus -qAtc 'SELECT count(*) FROM etl.errors'") | Should -Be '1'
        }

        It 'compares the artefact snapshot with live production (drift since the backup) without a sandbox' {
            $c = $r.Artefact | Compare-HbRowCounts -Reference ArtefactSnapshot -Difference Production
            @($c | Where-Object { -not $_.Match }) | Should -BeNullOrEmpty
            "$(($c | Select-Object -First 1).DifferenceSource)" | Should -Be 'Production'
        }

        It 'refuses the same side twice' {
            { $r | Compare-HbRowCounts -Reference Production -Difference Production -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbRowCountsCommand'
        }

        It 'estimated mode compares statistics within the tolerance' {
            $c = $r | Compare-HbRowCounts -Mode Estimated -Table 'audit.events'
            "$($c.Mode)" | Should -Be 'Estimated'
            $c.Tolerance | Should -Be 0.1
        }
    }
}
