BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

Describe 'Invoke-HbBackup' {
    Context 'Parameter validation' {
        It 'requires -Database' {
            (Get-Command Invoke-HbBackup).Parameters['Database'].Attributes.Mandatory | Should -Contain $true
        }
        It 'rejects a compression level outside 0..9' {
            { Invoke-HbBackup -Database d -CompressionLevel 10 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.InvokeHbBackupCommand'
        }
        It 'rejects shell metacharacters in <Name> with InvalidArgument and runs nothing' -ForEach @(
            @{ Name = 'Container'; Params = @{ Container = 'postgres;touch /tmp/hbops-injected' } }
            @{ Name = 'Database'; Params = @{ Database = 'directus$(touch /tmp/hbops-injected)' } }
            @{ Name = 'Tag'; Params = @{ Tag = 'x`touch /tmp/hbops-injected`' } }
            @{ Name = 'Destination'; Params = @{ Destination = '/tmp/a;touch /tmp/hbops-injected' } }
            @{ Name = 'User'; Params = @{ User = "directus'; touch /tmp/hbops-injected; '" } }
        ) {
            $p = @{} + $Prod
            foreach ($k in $Params.Keys) { $p[$k] = $Params[$k] }
            { Invoke-HbBackup @Ssh @p -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
            '/tmp/hbops-injected' | Should -Not -Exist
        }
    }

    Context 'Backup through the SSH alias' {
        BeforeAll {
            $script:a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag pester
        }

        It 'returns a typed artefact with observed facts' {
            $a | Should -BeOfType 'HbOps.Model.HbBackupArtefact'
            $a.Host.Alias | Should -Be $TestEnv.SshAlias
            $a.Format | Should -Be 'custom'
            $a.CompressionLevel | Should -Be 6
            $a.Sha256 | Should -Match '^[0-9a-f]{64}$'
            $a.SizeBytes | Should -BeGreaterThan 10MB
            $a.ServerVersion | Should -Match '^15\.'
            $a.ContainerImage | Should -Be 'postgres:15'
            $a.RowCountSnapshot.TableCount | Should -BeGreaterOrEqual 30
            $a.DumpCommand | Should -Match '^pg_dump -U directus -d directus -F c -Z 6 --snapshot='
        }

        It 'writes the dump, SHA256SUMS in sha256sum -c format and the manifest, with no .partial left' {
            $a.Path | Should -Exist
            $a.ManifestPath | Should -Exist
            Push-Location $a.RunFolder
            try { sha256sum -c --ignore-missing SHA256SUMS | Should -Contain "$($a.FileName): OK" } finally { Pop-Location }
            Get-ChildItem $a.RunFolder -Filter '*.partial*' | Should -BeNullOrEmpty
        }

        It 'shows a default table view' {
            ($a | Format-Table | Out-String) | Should -Match 'SizeMiB'
        }

        It 'keeps secrets out of the object' {
            ($a | ConvertTo-Json -Depth 6) | Should -Not -Match 'fdw-mapping-secret|fixture-role-secret|PASSWORD='
        }
    }

    Context 'Faults' {
        It 'unknown alias -> SshAliasNotFound' {
            { Invoke-HbBackup -SshHost no-such-alias -SshConfigPath $TestEnv.SshConfigPath @Prod -ErrorAction Stop } |
                Should -Throw -ErrorId 'SshAliasNotFound,HbOps.InvokeHbBackupCommand'
        }
        It 'missing container -> ContainerNotFound' {
            { Invoke-HbBackup @Ssh -Container no-such-container -Database directus -User directus -ErrorAction Stop } |
                Should -Throw -ErrorId 'ContainerNotFound,HbOps.InvokeHbBackupCommand'
        }
        It 'wrong database -> DatabaseUnavailable' {
            { Invoke-HbBackup @Ssh -Container $TestEnv.Container -Database no_such_db -User directus -Destination $TestEnv.BackupRoot -ErrorAction Stop } |
                Should -Throw -ErrorId 'DatabaseUnavailable,HbOps.InvokeHbBackupCommand'
        }
        Context 'on a small filesystem (8 MiB tmpfs)' {
            BeforeAll {
                $script:small = Join-Path ([IO.Path]::GetTempPath()) ('hbops-small-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
                New-Item -ItemType Directory -Path $small | Out-Null
                mount -t tmpfs -o size=8m tmpfs $small
                if ($LASTEXITCODE -ne 0) { throw 'could not mount a tmpfs for the disk-full tests' }
            }
            AfterAll {
                umount $small
                Remove-Item -Recurse -Force $small
            }

            It 'too little free space -> InsufficientDiskSpace, nothing written' {
                { Invoke-HbBackup @Ssh @Prod -Destination $small -Tag space -ErrorAction Stop } |
                    Should -Throw -ErrorId 'InsufficientDiskSpace,HbOps.InvokeHbBackupCommand'
                Get-ChildItem -Recurse -File $small | Should -BeNullOrEmpty
            }

            It 'disk full mid-dump with -Force -> DumpFailed, no artefact, no .partial, no checksum line' {
                { Invoke-HbBackup @Ssh @Prod -Destination $small -Tag full -Force -ErrorAction Stop -WarningAction SilentlyContinue } |
                    Should -Throw -ErrorId 'DumpFailed,HbOps.InvokeHbBackupCommand'
                Get-ChildItem -Recurse -File $small | Should -BeNullOrEmpty
            }

            It 'disk full with -Local -> DumpFailed, nothing left' {
                { Invoke-HbBackup @Ssh @Prod -Destination $small -Tag localfull -Local -Force -ErrorAction Stop -WarningAction SilentlyContinue } |
                    Should -Throw -ErrorId 'DumpFailed,HbOps.InvokeHbBackupCommand'
                Get-ChildItem -Recurse -File $small | Should -BeNullOrEmpty
            }
        }
        It 'destination not writable -> DestinationNotWritable' {
            { Invoke-HbBackup @Ssh @Prod -Destination /proc/hbops -ErrorAction Stop } |
                Should -Throw -ErrorId 'DestinationNotWritable,HbOps.InvokeHbBackupCommand'
        }
    }
}
