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
        It 'offers only the modes it accepts (-Mode None is not offered, and refused)' {
            Get-HbCompletion 'Compare-HbRowCounts -Mode ' | Sort-Object | Should -Be @('Estimated', 'Exact')
            { $r | Compare-HbRowCounts -Mode None } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.CompareHbRowCountsCommand'
        }
        It 'completes -SandboxName from the host''s sandboxes, never from file names' {
            Push-Location $TestDrive
            try {
                New-Item -ItemType File 'pg-restore-test-not-a-sandbox.txt' | Out-Null
                $line = "Compare-HbRowCounts -SshHost $($TestEnv.SshAlias) -SshConfigPath $($TestEnv.SshConfigPath) -SandboxName pg-restore-test-"
                $offered = Get-HbCompletion $line
                $offered | Should -Contain $r.Sandbox.Name
                $offered | Where-Object { $_ -like '*.txt' } | Should -BeNullOrEmpty
            } finally { Pop-Location }
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

        It 'compares a -Target''s production with a sandbox given by name, or piped' {
            $config = New-HbTestConfig -BackupRoot $TestEnv.BackupRoot
            $c = Compare-HbRowCounts -Target pester-target -ConfigPath $config -SandboxName $r.Sandbox.Name -Table 'public.dot_tools'
            $c.Match | Should -BeTrue
            $c.Reference | Should -Be 992
            $piped = $r | Compare-HbRowCounts -Target pester-target -ConfigPath $config -Table 'public.dot_tools'
            $piped.Match | Should -BeTrue
        }

        It 'binds a restore-test result read back with Import-Clixml or rebuilt from JSON' {
            $file = Join-Path $TestDrive 'result.xml'
            $r | Export-Clixml $file
            $c = Import-Clixml $file | Compare-HbRowCounts -Table 'public.dot_tools'
            $c.Match | Should -BeTrue
            "$($c.DifferenceSource)" | Should -Be 'Sandbox'
            $j = $r | ConvertTo-Json -Depth 10 -EnumsAsStrings | ConvertFrom-Json | Compare-HbRowCounts -Reference ArtefactSnapshot -Table 'public.dot_tools'
            $j.Match | Should -BeTrue
            "$($j.ReferenceSource)" | Should -Be 'ArtefactSnapshot'
        }

        It 'estimated mode compares statistics within the tolerance' {
            $c = $r | Compare-HbRowCounts -Mode Estimated -Table 'audit.events'
            "$($c.Mode)" | Should -Be 'Estimated'
            $c.Tolerance | Should -Be 0.1
        }
    }

    Context 'A production read given up on ends its server session' {
        # A read of production that waits (a lock held by a migration, a large table counted) must not go on running on
        # the server after HbOps gave up on it: Ctrl+C, or the connection lost. The lock makes the moment deterministic.
        It '<Command>: <Fault> while production is counted behind a lock ends the query''s session before the lock goes' -ForEach @(
            @{ Command = 'Compare-HbRowCounts'; Fault = 'Ctrl+C' }
            @{ Command = 'Compare-HbRowCounts'; Fault = 'SSH connection cut' }
            @{ Command = 'Compare-HbContent'; Fault = 'Ctrl+C' }
            @{ Command = 'Compare-HbContent'; Fault = 'SSH connection cut' }
        ) {
            $lock = Lock-HbProductionTable
            try {
                $ours = Invoke-HbFaultBehindLock { param($a, $c) $a | & $c -Reference ArtefactSnapshot -Difference Production } @($r.Artefact, $Command) `
                    -Fault $Fault -CutErrorId 'SshConnectionLost,*'
                Wait-HbCondition { (Get-HbLiveSessions $ours).Count -eq 0 } 30 | Should -BeTrue -Because "the query's session ($ours) ends while the lock is still held"
            }
            finally { Unlock-HbProductionTable $lock }
        }
    }
}
