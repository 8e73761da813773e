BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:root = Join-Path $TestEnv.BackupRoot ('catalog-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    $script:a1 = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag cat -RowCounts Estimated
    Start-Sleep -Seconds 1
    $script:a2 = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag cat -RowCounts Estimated
}

Describe 'Get-HbBackup' {
    Context 'Parameter validation' {
        It 'requires -Path' {
            (Get-Command Get-HbBackup).Parameters['Path'].Attributes.Mandatory | Should -Contain $true
        }
    }

    It 'reads the manifests back over SSH into the same objects, oldest first' {
        $list = Get-HbBackup @Ssh -Path $root
        $list.Count | Should -Be 2
        $list[0] | Should -BeOfType 'HbOps.Model.HbBackupArtefact'
        $list.Sha256 | Should -Be @($a1.Sha256, $a2.Sha256)
        $list[1].RowCountSnapshot.TableCount | Should -Be $a2.RowCountSnapshot.TableCount
        "$($list[1].Location)" | Should -Be 'Host'
    }

    It 'reads the same folder locally with -Local' {
        (Get-HbBackup -Path $root -Local).Path | Should -Be @($a1.Path, $a2.Path)
    }

    It 'returns nothing for an empty folder and skips a malformed manifest with a warning' {
        $dir = Join-Path $TestEnv.BackupRoot 'catalog-bad'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content (Join-Path $dir 'x.dump.manifest.yml') 'path: [unclosed'
        $r = Get-HbBackup -Path $dir -Local -WarningVariable w -WarningAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $w | Should -Not -BeNullOrEmpty
    }
}
