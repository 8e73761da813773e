BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination (Join-Path $TestEnv.BackupRoot 'verify') -Tag verify -RowCounts None
}

Describe 'Test-HbBackup' {
    Context 'Parameter validation' {
        It 'takes artefacts from the pipeline' {
            ((Get-Command Test-HbBackup).Parameters['Artefact'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -Contain $true
        }
    }

    It 'verifies a good artefact: checksum, SHA256SUMS and pg_restore --list' {
        $v = $a | Test-HbBackup
        "$($v.Status)" | Should -Be 'Verified'
        $v.ChecksumMatches | Should -BeTrue
        $v.ChecksumFileMatches | Should -BeTrue
        $v.Readable | Should -BeTrue
        $v.TocEntries | Should -BeGreaterThan 100
    }

    It 'serializes cleanly with ConvertTo-Json' {
        ($a | Test-HbBackup | ConvertTo-Json | ConvertFrom-Json).Readable | Should -BeTrue
    }

    It 'reports a corrupted artefact as Failed with ArtefactInvalid' {
        $copy = Join-Path $a.RunFolder ('bad-' + $a.FileName)
        Copy-Item $a.Path $copy
        $bytes = [IO.File]::ReadAllBytes($copy)
        $bytes[100] = $bytes[100] -bxor 0x55
        [IO.File]::WriteAllBytes($copy, $bytes)
        $bad = Copy-HbArtefact $a { param($x) $x.Path = $copy }
        $v = $bad | Test-HbBackup -ErrorVariable err -ErrorAction SilentlyContinue
        "$($v.Status)" | Should -Be 'Failed'
        $v.ChecksumMatches | Should -BeFalse
        $err[0].FullyQualifiedErrorId | Should -Be 'ArtefactInvalid,HbOps.TestHbBackupCommand'
        Remove-Item $copy
    }

    It 'reports a deleted dump as Missing' {
        $gone = Copy-HbArtefact $a { param($x) $x.Path = $a.Path + '.gone' }
        "$(($gone | Test-HbBackup -ErrorAction SilentlyContinue).Status)" | Should -Be 'Missing'
    }
}
