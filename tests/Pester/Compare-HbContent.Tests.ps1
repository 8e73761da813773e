BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag content | Test-HbRestore -KeepSandbox
    function Invoke-Sandbox([string] $sql) { docker exec $r.Sandbox.Name psql -X -q -At -U directus -d directus -c $sql }
}

AfterAll {
    $r | Remove-HbSandbox -Confirm:$false | Out-Null
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Compare-HbContent' {
    Context 'Parameter validation' {
        It 'binds Artefact and Sandbox by property name' {
            foreach ($n in 'Artefact', 'Sandbox') {
                $attr = (Get-Command Compare-HbContent).Parameters[$n].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
                $attr.ValueFromPipelineByPropertyName | Should -Contain $true
            }
        }
        It 'rejects an unknown -Reference' {
            { $r | Compare-HbContent -Reference Sandbox } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.CompareHbContentCommand'
        }
        It 'refuses the same side twice' {
            { $r | Compare-HbContent -Reference Production -Difference Production -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbContentCommand'
        }
        It 'needs fingerprints for the artefact-snapshot reference' {
            $bare = Copy-HbArtefact $r.Artefact { param($a) $a.ContentFingerprints = $null }
            { $bare | Compare-HbContent -SandboxName $r.Sandbox.Name -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbContentCommand'
        }
        It 'needs a sandbox side' {
            { $r.Artefact | Compare-HbContent -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.CompareHbContentCommand'
        }
    }

    Context 'The dump''s snapshot vs the kept sandbox' {
        It 'emits one Equal comparison per fingerprinted table' {
            $c = $r | Compare-HbContent
            $c.Count | Should -Be $r.Artefact.ContentFingerprints.TableCount
            $c[0] | Should -BeOfType 'HbOps.Model.HbContentComparison'
            @($c | Where-Object { -not $_.Equal }) | Should -BeNullOrEmpty
            "$($c[0].ReferenceSource) $($c[0].DifferenceSource)" | Should -Be 'ArtefactSnapshot Sandbox'
            ($c | Format-Table | Out-String -Width 200) | Should -Match 'ReferenceDigest'
        }

        It 'names the one table whose value changed, with the same row count' {
            Invoke-Sandbox "UPDATE app.tags SET label = label || '!' WHERE id = 7" | Out-Null
            try {
                $bad = @($r | Compare-HbContent | Where-Object { -not $_.Equal })
                $bad.Count | Should -Be 1
                $bad[0].QualifiedName | Should -Be 'app.tags'
                "$($bad[0].Status)" | Should -Be 'Different'
                $bad[0].DifferenceRows | Should -Be $bad[0].ReferenceRows
            }
            finally { Invoke-Sandbox "UPDATE app.tags SET label = rtrim(label, '!') WHERE id = 7" | Out-Null }
            @($r | Compare-HbContent -Table 'app.tags' | Where-Object { -not $_.Equal }) | Should -BeNullOrEmpty
        }

        It 'counts duplicate rows: one copy fewer of a row present several times is Different' {
            $where = "sensor = 'sensor-3' AND qty = 4"
            Invoke-Sandbox "CREATE TABLE public.hbops_one AS SELECT * FROM proof.readings WHERE $where LIMIT 1; DELETE FROM proof.readings WHERE ctid = (SELECT ctid FROM proof.readings WHERE $where LIMIT 1)" | Out-Null
            try {
                $c = $r | Compare-HbContent -Table 'proof.readings'
                "$($c.Status)" | Should -Be 'Different'
                $c.DifferenceRows | Should -Be ($c.ReferenceRows - 1)
            }
            finally { Invoke-Sandbox "SET session_replication_role = replica; INSERT INTO proof.readings SELECT * FROM public.hbops_one; DROP TABLE public.hbops_one" | Out-Null }
            "$(($r | Compare-HbContent -Table 'proof.readings').Status)" | Should -Be 'Equal'
        }

        It 'filters tables with -Table and -ExcludeTable' {
            $c = $r | Compare-HbContent -Table 'proof.*' -ExcludeTable '*_marker'
            ($c | ForEach-Object QualifiedName) | Should -Be @('proof.invoices', 'proof.measurements', 'proof.reading_log', 'proof.readings')
        }
    }

    Context 'Other sides' {
        It 'compares live production (read-only) with the sandbox' {
            $c = $r | Compare-HbContent -Reference Production -Table 'public.*'
            @($c | Where-Object { -not $_.Equal }) | Should -BeNullOrEmpty
            "$($c[0].ReferenceSource)" | Should -Be 'Production'
        }

        It 'compares the dump''s snapshot with live production (what changed since the backup) without a sandbox' {
            $c = $r.Artefact | Compare-HbContent -Difference Production -Table 'app.*'
            @($c | Where-Object { -not $_.Equal }) | Should -BeNullOrEmpty
            "$($c[0].DifferenceSource)" | Should -Be 'Production'
        }

        It 'serializes cleanly with ConvertTo-Json' {
            $json = $r | Compare-HbContent -Table 'public.dot_tools' | ConvertTo-Json | ConvertFrom-Json
            $json.Table | Should -Be 'dot_tools'
            $json.Equal | Should -BeTrue
        }
    }
}
