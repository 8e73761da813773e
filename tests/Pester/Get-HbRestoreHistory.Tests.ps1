BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:root = Join-Path $TestEnv.BackupRoot ('history-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag history
    $script:runs = @($a | Test-HbRestore; $a | Test-HbRestore -Amcheck)
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Get-HbRestoreHistory' {
    Context 'Parameter validation' {
        It 'requires -Path and has -Summary and -Local' {
            (Get-Command Get-HbRestoreHistory).Parameters['Path'].Attributes.Mandatory | Should -Contain $true
            (Get-Command Get-HbRestoreHistory).Parameters['Summary'].SwitchParameter | Should -BeTrue
            (Get-Command Get-HbRestoreHistory).Parameters['Local'].SwitchParameter | Should -BeTrue
        }
        It 'rejects an empty -Path' {
            { Get-HbRestoreHistory -Path '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.GetHbRestoreHistoryCommand'
        }
    }

    It 'reads every restore test under a backup root over SSH, oldest first, with the change from the previous one' {
        $h = Get-HbRestoreHistory @Ssh -Path $root
        $h.Count | Should -Be 2
        $h[0] | Should -BeOfType 'HbOps.Model.HbRestoreHistoryEntry'
        $h[0].Target | Should -Be "$($TestEnv.SshAlias)/$($TestEnv.Container)/$($TestEnv.Database)"
        $h[0].DurationSeconds | Should -Be $runs[0].DurationSeconds
        $h[1].DurationSeconds | Should -Be $runs[1].DurationSeconds
        $h[0].DurationChangePercent | Should -BeNullOrEmpty
        $h[1].DurationChangePercent | Should -Be ([Math]::Round(($runs[1].DurationSeconds - $runs[0].DurationSeconds) * 100 / $runs[0].DurationSeconds, 1))
        $h[1].TableCount | Should -Be $runs[1].TableCount
        $h[1].SizeBytes | Should -Be $a.SizeBytes
        $h[1].RestoreSeconds | Should -BeGreaterThan 0
        ($h | Format-Table | Out-String -Width 200) | Should -Match 'Change%'
    }

    It 'reads the same records from this machine with -Local (and from a run folder)' {
        $h = Get-HbRestoreHistory -Path $a.RunFolder -Local
        $h.Count | Should -Be 2
        ($h | ForEach-Object RecordPath) | Should -Be ($runs | ForEach-Object RecordPath)
    }

    It '-Summary shows the trend per target' {
        $t = Get-HbRestoreHistory @Ssh -Path $root -Summary
        $t | Should -BeOfType 'HbOps.Model.HbRestoreTrend'
        $t.Tests | Should -Be 2
        $t.Failed | Should -Be 0
        $t.FirstSeconds | Should -Be $runs[0].DurationSeconds
        $t.LatestSeconds | Should -Be $runs[1].DurationSeconds
        $t.MaxSeconds | Should -Be (($runs | Measure-Object DurationSeconds -Maximum).Maximum)
        $t.SizeChangePercent | Should -Be 0
        ($t | Format-Table | Out-String -Width 200) | Should -Match 'Sec/day'
    }

    It 'returns nothing for a folder without records' {
        Get-HbRestoreHistory @Ssh -Path (Join-Path $root 'none') | Should -BeNullOrEmpty
    }
}
