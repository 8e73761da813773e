BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag import
    $script:r = $a | Test-HbRestore
    $script:path = Join-Path ([IO.Path]::GetTempPath()) ('hbops-import-' + [guid]::NewGuid().ToString('N') + '.yml')
    $script:written = $a, $r | Export-HbClosureRecord -Path $path -Title 'round trip'
}

AfterAll { Remove-Item $path -ErrorAction SilentlyContinue }

Describe 'Import-HbClosureRecord' {
    Context 'Parameter validation' {
        It 'requires -Path' {
            (Get-Command Import-HbClosureRecord).Parameters['Path'].Attributes.Mandatory | Should -Contain $true
        }
        It 'a missing file -> ArtefactNotFound' {
            { Import-HbClosureRecord -Path /nonexistent/record.yml -ErrorAction Stop } | Should -Throw -ErrorId 'ArtefactNotFound,HbOps.ImportHbClosureRecordCommand'
        }
        It 'a malformed file -> ConfigInvalid' {
            $bad = Join-Path ([IO.Path]::GetTempPath()) 'hbops-bad-record.yml'
            Set-Content $bad 'title: [unclosed'
            { Import-HbClosureRecord -Path $bad -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigInvalid,HbOps.ImportHbClosureRecordCommand'
            Remove-Item $bad
        }
    }

    It 'round-trips into typed objects with the same facts' {
        $back = Import-HbClosureRecord -Path $path
        $back | Should -BeOfType 'HbOps.Model.HbClosureRecord'
        $back.Title | Should -Be 'round trip'
        $back.Backup.Sha256 | Should -Be $a.Sha256
        $back.Backup.RowCountSnapshot.TableCount | Should -Be $a.RowCountSnapshot.TableCount
        "$($back.Restore.Result)" | Should -Be "$($r.Result)"
        $back.Restore.Messages.Count | Should -Be $r.Messages.Count
        ($back.Acceptance | ForEach-Object { "$($_.Status)" }) | Should -Be ($written.Acceptance | ForEach-Object { "$($_.Status)" })
    }

    It 'reads back the restore-test record Test-HbRestore wrote beside the artefact, as the same result' {
        $r.RecordPath | Should -Exist
        $back = Import-HbClosureRecord -Path $r.RecordPath
        $back | Should -BeOfType 'HbOps.Model.HbRestoreTestResult'
        $back.RecordPath | Should -Be $r.RecordPath
        "$($back.Result)" | Should -Be "$($r.Result)"
        $back.Artefact.Sha256 | Should -Be $a.Sha256
        $back.Artefact.Host.Alias | Should -Be $TestEnv.SshAlias
        $back.Sandbox.Name | Should -Be $r.Sandbox.Name
        $back.Sandbox.IsolationVerified | Should -BeTrue
        $back.Messages.Rule | Should -Be $r.Messages.Rule
        $back.RowCounts.Count | Should -Be $r.RowCounts.Count
        $back.RowCountMismatches | Should -Be 0
        "$($back.Teardown.Status)" | Should -Be 'Removed'
        $back.TeardownVerified | Should -BeTrue
    }

    It 'reads back a manifest as the artefact Get-HbBackup returns' {
        $back = Import-HbClosureRecord -Path $a.ManifestPath
        $back | Should -BeOfType 'HbOps.Model.HbBackupArtefact'
        $listed = Get-HbBackup -Path $a.RunFolder -Local | Where-Object Path -eq $a.Path
        foreach ($p in 'Path', 'Sha256', 'SizeBytes', 'TimestampUtc', 'ServerVersion', 'Compression', 'DumpCommand') {
            $back.$p | Should -Be $listed.$p -Because $p
        }
        $back.Host.Alias | Should -Be $TestEnv.SshAlias
        $back.RowCountSnapshot.TableCount | Should -Be $a.RowCountSnapshot.TableCount
    }

    It 'reads every kind from the pipeline (Get-ChildItem binds FullName)' {
        $kinds = Get-Item $path, $r.RecordPath, $a.ManifestPath | Import-HbClosureRecord | ForEach-Object { $_.GetType().Name }
        $kinds | Should -Be @('HbClosureRecord', 'HbRestoreTestResult', 'HbBackupArtefact')
    }

    It 'refuses YAML that is no HbOps record with ConfigInvalid' {
        $other = Join-Path $TestDrive 'other.yml'
        Set-Content $other "name: something`nitems: [1, 2]"
        { Import-HbClosureRecord -Path $other -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigInvalid,HbOps.ImportHbClosureRecordCommand'
    }

    It 'shows the criteria count in the record''s table view' {
        $back = Import-HbClosureRecord -Path $path
        $passed = @($back.Acceptance | Where-Object Passed).Count
        $passed | Should -BeGreaterThan 0
        $line = ($back | Format-Table | Out-String -Width 300) -split "`n" | Where-Object { $_ -match 'round trip' }
        $line | Should -Match ([regex]::Escape(" $passed/$($back.Acceptance.Count) "))
    }

    It 'serializes cleanly with ConvertTo-Json' {
        { Import-HbClosureRecord -Path $path | ConvertTo-Json -Depth 10 | ConvertFrom-Json } | Should -Not -Throw
    }
}
