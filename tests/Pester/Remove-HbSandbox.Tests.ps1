BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:r = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag remove -RowCounts None | Test-HbRestore -KeepSandbox
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Remove-HbSandbox' {
    Context 'Parameter validation' {
        It 'is a high-impact ShouldProcess command' {
            $c = Get-Command Remove-HbSandbox
            $c.Parameters.Keys | Should -Contain 'WhatIf'
            $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).ConfirmImpact | Should -Be 'High'
        }
        It 'rejects a malformed name' {
            { Remove-HbSandbox -Name 'x;rm -rf /' -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.RemoveHbSandboxCommand'
        }
    }

    It 'refuses the production container by name and leaves it running' {
        { Remove-HbSandbox @Ssh -Name $TestEnv.Container -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NotASandbox,HbOps.RemoveHbSandboxCommand'
        docker inspect -f '{{.State.Running}}' $TestEnv.Container | Should -Be 'true'
    }

    It 'completes sandbox names' {
        $line = 'Remove-HbSandbox -Name pg-restore-test-remove'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain $r.Sandbox.Name
    }

    It '-WhatIf removes nothing' {
        $r | Remove-HbSandbox -WhatIf
        docker ps -aq --filter "name=^$($r.Sandbox.Name)$" | Should -Not -BeNullOrEmpty
    }

    It 'removes container and volume from the pipeline and verifies both are gone' {
        "$($r.Teardown.Status)" | Should -Be 'Skipped'
        $x = $r | Remove-HbSandbox -Confirm:$false
        $x | Should -BeOfType 'HbOps.Model.HbSandboxRemoval'
        "$($x.Status)" | Should -Be 'Removed'
        $x.Verified | Should -BeTrue
        $x.ContainersRemaining | Should -Be 0
        $x.VolumesRemaining | Should -Be 0
        docker ps -aq --filter "name=^$($r.Sandbox.Name)$" | Should -BeNullOrEmpty
        docker volume ls -q --filter "name=^$($r.Sandbox.VolumeName)$" | Should -BeNullOrEmpty
    }

    It 'serializes cleanly with ConvertTo-Json' {
        (Remove-HbSandbox @Ssh -Name $r.Sandbox.Name -Confirm:$false | ConvertTo-Json | ConvertFrom-Json).Verified | Should -BeTrue
    }

    It 'reports AlreadyGone (verified) for a sandbox that no longer exists' {
        $x = Remove-HbSandbox @Ssh -Name $r.Sandbox.Name -Confirm:$false
        "$($x.Status)" | Should -Be 'AlreadyGone'
        $x.Verified | Should -BeTrue
    }

    It 'takes names as strings from the pipeline' {
        $x = $r.Sandbox.Name, 'pg-restore-test-no-such-sandbox' | Remove-HbSandbox @Ssh -Confirm:$false
        $x.Name | Should -Be @($r.Sandbox.Name, 'pg-restore-test-no-such-sandbox')
        $x | ForEach-Object { "$($_.Status)" | Should -Be 'AlreadyGone' }
    }

    It 'removes a sandbox received from a job (Receive-Job), by the Sandbox property of its result' {
        $job = Start-Job { param($m, $s, $p) Import-Module $m; Test-HbRestore @s -Path $p -KeepSandbox } -ArgumentList (Join-Path $ModulePath 'HbOps.psd1'), $Ssh, $r.Artefact.Path
        $received = Receive-Job $job -Wait -AutoRemoveJob
        $received.PSObject.TypeNames[0] | Should -Be 'Deserialized.HbOps.Model.HbRestoreTestResult'
        docker ps -aq --filter "name=^$($received.Sandbox.Name)$" | Should -Not -BeNullOrEmpty
        $x = $received | Remove-HbSandbox -Confirm:$false
        "$($x.Status)" | Should -Be 'Removed'
        $x.Verified | Should -BeTrue
        docker ps -aq --filter "name=^$($received.Sandbox.Name)$" | Should -BeNullOrEmpty
    }

    It 'removes a sandbox rebuilt from JSON, and refuses nothing else' {
        $kept = $r.Artefact | Test-HbRestore -KeepSandbox
        $json = $kept.Sandbox | ConvertTo-Json -Depth 10 -EnumsAsStrings
        $x = $json | ConvertFrom-Json | Remove-HbSandbox -Confirm:$false
        "$($x.Status)" | Should -Be 'Removed'
        $x.Verified | Should -BeTrue
    }

    Context 'an image that declares more volumes than the data directory' {
        BeforeAll {
            $script:extraImage = "hbops-test/postgres:15-extravol-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
            $c = docker create $TestEnv.Image
            docker commit --change 'VOLUME /hbops-extra' $c $extraImage | Out-Null
            docker rm -v $c | Out-Null
            $script:x = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag extravol -RowCounts None | Test-HbRestore -Image $extraImage -KeepSandbox
            $script:anonymous = docker inspect -f '{{range .Mounts}}{{if eq .Destination "/hbops-extra"}}{{.Name}}{{end}}{{end}}' $x.Sandbox.Name
        }
        AfterAll {
            docker image rm -f $extraImage | Out-Null
        }
        It 'removes the anonymous volume with the container' {
            $anonymous | Should -Match '^[0-9a-f]{64}$'
            ($x | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue
            docker volume ls -q --filter "name=^$anonymous$" | Should -BeNullOrEmpty
        }
    }
}
