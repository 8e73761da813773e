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

    It 'names the line, the key and the problem in words when a manifest cannot be read (no .NET type names)' {
        $dir = Join-Path $TestDrive 'bad-manifests'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content (Join-Path $dir 'a.dump.manifest.yml') 'path: [unclosed'
        Set-Content (Join-Path $dir 'b.dump.manifest.yml') "manifestVersion: 1`nsizeBytes: many"
        Set-Content (Join-Path $dir 'c.dump.manifest.yml') "manifestVersion: 1`nlocation: Elsewhere"
        Set-Content (Join-Path $dir 'd.dump.manifest.yml') '- a list, not a manifest'
        Set-Content (Join-Path $dir 'e.dump.manifest.yml') ''
        Get-HbBackup -Path $dir -Local -WarningVariable w -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        $w.Count | Should -Be 5
        $text = $w.Message -join "`n"
        $text | Should -Not -Match 'System\.|Version=|PublicKeyToken|HbOps\.Model|Exception during deserialization|node deserializer'
        $text | Should -Match ([regex]::Escape("b.dump.manifest.yml': Malformed YAML at line 2 ('sizeBytes'): 'many' is not a valid value here."))
        $text | Should -Match ([regex]::Escape("line 2 ('location'): 'Elsewhere' is not a valid value here."))
        $text | Should -Match ([regex]::Escape("e.dump.manifest.yml': the file is empty."))
    }

    It 'a folder that does not exist is a PathNotFound error, on the host and on this machine' {
        $missing = Join-Path $root 'no-such-folder'
        Get-HbBackup @Ssh -Path $missing -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'PathNotFound,HbOps.GetHbBackupCommand'
        "$($err[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -Match ([regex]::Escape("'$missing' does not exist on $($TestEnv.SshAlias)"))
        { Get-HbBackup -Path $missing -Local -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound,HbOps.GetHbBackupCommand'
    }

    It 'writes verbose output: where it reads, how many manifests, how many artefacts' {
        $log = Get-HbBackup @Ssh -Path $root -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $text = $log.Message -join "`n"
        $text | Should -Match ([regex]::Escape("Reading the manifests under '$root' on $($TestEnv.SshAlias)"))
        $text | Should -Match 'Read 2 manifest'
        $text | Should -Match ([regex]::Escape("2 artefact(s) under '$root'"))
    }

    It 'shows progress while it reads a long listing' {
        $job = Start-HbBackground { param($s, $p) Get-HbBackup @s -Path $p } @($Ssh, $root)
        $listed = $job.PowerShell.EndInvoke($job.Handle)
        $progress = @($job.PowerShell.Streams.Progress | Where-Object Activity -eq 'Get-HbBackup')
        $job.PowerShell.Dispose()
        $listed.Count | Should -Be 2
        $progress | Where-Object StatusDescription -match '^1/2 ' | Should -Not -BeNullOrEmpty
        $progress[-1].RecordType | Should -Be 'Completed'
    }

    It 'reads every manifest under a root in one SSH command however many there are' {
        # 40 copies of a real manifest (each naming its own dump) in 40 run folders, read back in well under the time
        # 40 SSH commands take (each one is a channel plus the operator's noisy login shell, ~0.1 s or more).
        $many = Join-Path $root 'many'
        $manifest = Get-Content -Raw $a1.ManifestPath
        foreach ($i in 1..40) {
            $dir = Join-Path $many ("run{0:d2}" -f $i)
            New-Item -ItemType Directory -Force $dir | Out-Null
            Set-Content -NoNewline -Path (Join-Path $dir "copy$i.dump.manifest.yml") -Value ($manifest -replace '(?m)^runId: .*$', "runId: copy$i")
        }
        $null = Get-HbBackup @Ssh -Path $many
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $list = Get-HbBackup @Ssh -Path $many
        $sw.Stop()
        $list.Count | Should -Be 40
        ($list.RunId | Sort-Object -Unique).Count | Should -Be 40
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 2
    }

    Context '-Target' {
        BeforeAll {
            $script:config = New-HbTestConfig -BackupRoot $root
        }

        It 'lists the target''s artefacts under its backup root on its host' {
            (Get-HbBackup -Target pester-target -ConfigPath $config | Where-Object RunId -notlike 'copy*').Sha256 | Should -Be @($a1.Sha256, $a2.Sha256)
        }

        It 'keeps only the target''s database' {
            $other = New-HbTestConfig -BackupRoot $root -Database someone_else
            Get-HbBackup -Target pester-target -ConfigPath $other | Should -BeNullOrEmpty
        }

        It '-Path replaces the target''s backup root' {
            (Get-HbBackup -Target pester-target -ConfigPath $config -Path (Split-Path $a2.ManifestPath)).Count | Should -BeGreaterOrEqual 1
        }

        It 'an unknown target is TargetNotFound' {
            { Get-HbBackup -Target nope -ConfigPath $config -ErrorAction Stop } | Should -Throw -ErrorId 'TargetNotFound,HbOps.GetHbBackupCommand'
        }

        It 'completes target names from the config file named by -ConfigPath or by $PSDefaultParameterValues' {
            Get-HbCompletion "Get-HbBackup -ConfigPath '$config' -Target pes" | Should -Be @('pester-target')
            $saved = $PSDefaultParameterValues.Clone()
            try {
                $PSDefaultParameterValues['Get-HbBackup:ConfigPath'] = $config
                Get-HbCompletion 'Get-HbBackup -Target pes' | Should -Be @('pester-target')
            } finally { $global:PSDefaultParameterValues = $saved }
        }
    }
}
