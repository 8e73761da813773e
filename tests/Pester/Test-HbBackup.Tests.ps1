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
        "$($v.ReadabilityCheck)" | Should -Be 'Passed'
        $v.Encrypted | Should -BeFalse
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
        chown --reference=$($a.Path) $copy   # artefacts are private to the account that made them
        $bad = Copy-HbArtefact $a { param($x) $x.Path = $copy }
        $v = $bad | Test-HbBackup -ErrorVariable err -ErrorAction SilentlyContinue
        "$($v.Status)" | Should -Be 'Failed'
        $v.ChecksumMatches | Should -BeFalse
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ArtefactInvalid,HbOps.TestHbBackupCommand'
        "$($err[0].CategoryInfo.Category)" | Should -Be 'InvalidResult'
        [object]::ReferenceEquals($err[0].TargetObject, $v) | Should -BeTrue -Because 'the error carries the verification it reports'
        { $bad | Test-HbBackup -ErrorAction Stop } | Should -Throw -ErrorId 'ArtefactInvalid,HbOps.TestHbBackupCommand'
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

    It 'reports a deleted dump as Missing, with the same error' {
        $gone = Copy-HbArtefact $a { param($x) $x.Path = $a.Path + '.gone' }
        $v = $gone | Test-HbBackup -ErrorAction SilentlyContinue -ErrorVariable err
        "$($v.Status)" | Should -Be 'Missing'
        $err[0].FullyQualifiedErrorId | Should -Be 'ArtefactInvalid,HbOps.TestHbBackupCommand'
    }

    It 'writes no error for an artefact that verifies' {
        $a | Test-HbBackup -ErrorVariable err | Out-Null
        $err | Should -BeNullOrEmpty
    }

    Context 'Artefacts that made a round trip bind by property name' {
        It 'read back with Import-Clixml (nested objects kept whole)' {
            $file = Join-Path $TestDrive 'artefact.xml'
            $a | Export-Clixml $file
            $back = Import-Clixml $file
            $back.PSObject.TypeNames[0] | Should -Be 'Deserialized.HbOps.Model.HbBackupArtefact'
            $back.Host.IdentityFiles | Should -Not -BeNullOrEmpty -Because 'the host must arrive whole, not as its ToString()'
            $v = $back | Test-HbBackup
            "$($v.Status)" | Should -Be 'Verified'
            $v.Path | Should -Be $a.Path
        }

        It 'received from Start-Job / Receive-Job (another process)' {
            $job = Start-Job { param($m, $s, $p) Import-Module $m; Get-HbBackup @s -Path $p } -ArgumentList (Join-Path $ModulePath 'HbOps.psd1'), $Ssh, $a.RunFolder
            $received = Receive-Job $job -Wait -AutoRemoveJob | Where-Object Path -eq $a.Path
            $received.PSObject.TypeNames[0] | Should -Be 'Deserialized.HbOps.Model.HbBackupArtefact'
            "$(($received | Test-HbBackup).Status)" | Should -Be 'Verified'
        }

        It 'returned from ForEach-Object -Parallel' {
            $m = Join-Path $ModulePath 'HbOps.psd1'
            $from = 1 | ForEach-Object -Parallel { Import-Module $using:m; $s = $using:Ssh; Get-HbBackup @s -Path ($using:a).RunFolder } | Where-Object Path -eq $a.Path
            "$(($from | Test-HbBackup).Status)" | Should -Be 'Verified'
        }

        It 'rebuilt from JSON, with enums as strings (-EnumsAsStrings) or as numbers' {
            $json = $a | ConvertTo-Json -Depth 10 -EnumsAsStrings
            $json | Should -Match '"Location": "Host"'
            $json | Should -Match '"Kind": "Ssh"'
            "$(($json | ConvertFrom-Json | Test-HbBackup).Status)" | Should -Be 'Verified'
            "$(($a | ConvertTo-Json -Depth 10 | ConvertFrom-Json | Test-HbBackup).Status)" | Should -Be 'Verified'
        }

        It 'serializes enums as strings with System.Text.Json as well' {
            $json = [System.Text.Json.JsonSerializer]::Serialize($a, [HbOps.Model.HbBackupArtefact])
            $json | Should -Match '"Location":"Host"'
            $json | Should -Match '"Kind":"Ssh"'
            $back = [System.Text.Json.JsonSerializer]::Deserialize($json, [HbOps.Model.HbBackupArtefact])
            "$($back.Location)" | Should -Be 'Host'
        }

        It 'refuses JSON that was written too shallow, saying how to write it' {
            $shallow = $a | ConvertTo-Json -Depth 1 -WarningAction SilentlyContinue | ConvertFrom-Json
            $err = $null
            try { $shallow | Test-HbBackup -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'ParameterArgumentTransformationError,HbOps.TestHbBackupCommand'
            $err.Exception.Message | Should -Match 'serialized too shallowly.*ConvertTo-Json -Depth 10'
        }

        It 'takes the Artefact property of a restore-test result read back from its record' {
            $a | Test-HbRestore -Confirm:$false | Out-Null
            $record = Get-ChildItem $a.RunFolder -Filter "$($a.FileName).restore-*.yml" | Select-Object -Last 1
            "$((Import-HbClosureRecord $record.FullName | Test-HbBackup).Status)" | Should -Be 'Verified'
        }
    }

    Context '-Target' {
        It 'verifies the newest artefact of the target' {
            $config = New-HbTestConfig -BackupRoot (Join-Path $TestEnv.BackupRoot 'verify')
            $v = Test-HbBackup -Target pester-target -ConfigPath $config -Newest 1
            @($v).Count | Should -Be 1
            "$($v.Status)" | Should -Be 'Verified'
            $v.Path | Should -Be (Get-HbBackup @Ssh -Path (Join-Path $TestEnv.BackupRoot 'verify') | Select-Object -Last 1).Path
        }
    }
}
