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

    It 'serializes cleanly with ConvertTo-Json' {
        { Import-HbClosureRecord -Path $path | ConvertTo-Json -Depth 10 | ConvertFrom-Json } | Should -Not -Throw
    }
}
