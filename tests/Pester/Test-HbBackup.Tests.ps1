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

    Context 'A manifest edited after the backup' {
        BeforeAll {
            # A backup of its own with exact counts: its manifest is edited the way a hand would (one row count).
            $script:t = Invoke-HbBackup @Ssh @Prod -Destination (Join-Path $TestEnv.BackupRoot ('tamper-' + [guid]::NewGuid().ToString('N').Substring(0, 8))) -Tag tamper -KeyTables public.dot_tools
            $script:original = Get-Content -Raw $t.ManifestPath
            $edited = $original -replace 'exactRows: 992', 'exactRows: 993'
            $edited | Should -Not -Be $original -Because 'the manifest records the key table''s exact count'
            Set-Content -NoNewline -Path $t.ManifestPath -Value $edited
        }
        AfterAll {
            Set-Content -NoNewline -Path $t.ManifestPath -Value $original
        }

        It 'SHA256SUMS lists the manifest with its hash (sha256sum -c checks both)' {
            Set-Content -NoNewline -Path $t.ManifestPath -Value $original
            try {
                Push-Location $t.RunFolder
                try { sha256sum -c --ignore-missing SHA256SUMS | Should -Contain "$(Split-Path -Leaf $t.ManifestPath): OK" } finally { Pop-Location }
                "$(($t | Test-HbBackup).Status)" | Should -Be 'Verified'
            }
            finally { Set-Content -NoNewline -Path $t.ManifestPath -Value ($original -replace 'exactRows: 992', 'exactRows: 993') }
        }

        It 'is ManifestTampered, read back by Get-HbBackup or piped from the backup' {
            $readBack = Get-HbBackup @Ssh -Path $t.RunFolder
            @($readBack).Count | Should -Be 1
            $readBack.RowCountSnapshot.Tables[0].ExactRows | Should -Be 993 -Because 'Get-HbBackup reads the edited manifest'
            foreach ($artefact in @($readBack, $t)) {
                $v = $artefact | Test-HbBackup -ErrorVariable err -ErrorAction SilentlyContinue
                "$($v.Status)" | Should -Be 'Failed'
                $v.ManifestMatches | Should -BeFalse
                $v.ChecksumMatches | Should -BeTrue -Because 'the dump itself is intact'
                $err[0].FullyQualifiedErrorId | Should -Be 'ManifestTampered,HbOps.TestHbBackupCommand'
                $v.Message | Should -Match 'manifest'
            }
        }

        It 'is refused by Test-HbRestore (ManifestTampered) before any sandbox exists' {
            { Get-HbBackup @Ssh -Path $t.RunFolder | Test-HbRestore -ErrorAction Stop } | Should -Throw -ErrorId 'ManifestTampered,HbOps.TestHbRestoreCommand'
            docker ps -aq --filter 'label=hbops.sandbox=true' --filter 'name=pg-restore-test-tamper' | Should -BeNullOrEmpty
            docker volume ls -q --filter 'name=pg-restore-test-tamper' | Should -BeNullOrEmpty
        }
    }

    It 'reports a deleted dump as Missing' {
        $gone = Copy-HbArtefact $a { param($x) $x.Path = $a.Path + '.gone' }
        "$(($gone | Test-HbBackup -ErrorAction SilentlyContinue).Status)" | Should -Be 'Missing'
    }
}
