BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

AfterAll {
    # No run of this file leaves a partial, status or temporary file in the backup root.
    Get-HbStrayFiles -Path $TestEnv.BackupRoot | Where-Object { $_ -notin $StrayFilesBefore } | Should -BeNullOrEmpty
}

Describe 'Invoke-HbBackup' {
    Context 'Parameter validation' {
        It 'requires -Database' {
            (Get-Command Invoke-HbBackup).Parameters['Database'].Attributes.Mandatory | Should -Contain $true
        }
        It 'rejects -Compression <Value> with InvalidArgument before connecting' -ForEach @(
            @{ Value = 'gzip:10' }, @{ Value = 'zstd:23' }, @{ Value = 'lz4:0' }, @{ Value = 'none:1' }, @{ Value = 'brotli:3' }, @{ Value = 'zstd:3;true' }
        ) {
            { Invoke-HbBackup -SshHost no-such-alias -SshConfigPath $TestEnv.SshConfigPath -Database d -Compression $Value -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
        }
        It 'still takes the former -CompressionLevel (0..9, a gzip level) and rejects 10 the same way' {
            (Get-Command Invoke-HbBackup).Parameters['Compression'].Aliases | Should -Contain 'CompressionLevel'
            { Invoke-HbBackup -SshHost no-such-alias -SshConfigPath $TestEnv.SshConfigPath -Database d -CompressionLevel 10 -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
        }
        It 'completes -Compression with the usual methods' {
            $line = 'Invoke-HbBackup -Compression z'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'zstd:3'
        }
        It 'rejects shell metacharacters in <Name> with InvalidArgument and runs nothing' -ForEach @(
            @{ Name = 'Container'; Params = @{ Container = 'postgres;touch /tmp/hbops-injected' } }
            @{ Name = 'Tag'; Params = @{ Tag = 'x`touch /tmp/hbops-injected`' } }
            @{ Name = 'Destination'; Params = @{ Destination = '/tmp/a;touch /tmp/hbops-injected' } }
        ) {
            $p = @{} + $Prod
            foreach ($k in $Params.Keys) { $p[$k] = $Params[$k] }
            { Invoke-HbBackup @Ssh @p -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
            '/tmp/hbops-injected' | Should -Not -Exist
        }
        It 'passes shell metacharacters in <Name> (a name PostgreSQL allows) to the server as data: no such <Name>, nothing run' -ForEach @(
            @{ Name = 'Database'; Params = @{ Database = 'directus$(touch /tmp/hbops-injected)' } }
            @{ Name = 'User'; Params = @{ User = "directus'; touch /tmp/hbops-injected; '" } }
            @{ Name = 'Database'; Params = @{ Database = 'host=127.0.0.2 port=1 dbname=directus' } }
        ) {
            $p = @{} + $Prod
            foreach ($k in $Params.Keys) { $p[$k] = $Params[$k] }
            $err = $null
            try { Invoke-HbBackup @Ssh @p -Destination (Join-Path $TestEnv.BackupRoot 'inject') -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'DatabaseUnavailable,HbOps.InvokeHbBackupCommand'
            # the name reached the server as one name (not as a connection string or a shell word)
            $err.Exception.Message | Should -Match ([regex]::Escape(@($Params.Values)[0]))
            '/tmp/hbops-injected' | Should -Not -Exist
            Join-Path $TestEnv.BackupRoot 'inject' | Should -Not -Exist
        }
        It 'rejects a name PostgreSQL would cut (over 63 bytes) or one with control characters' -ForEach @(
            @{ Database = 'ä' * 32 }
            @{ Database = "directus`nx" }
        ) {
            { Invoke-HbBackup @Ssh @Prod -Database $Database -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
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
            $a.Compression | Should -Be 'gzip:6'
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

        It 'shows a default table view; the compression shows in the list view' {
            ($a | Format-Table | Out-String) | Should -Match 'SizeMiB'
            ($a | Format-List | Out-String) | Should -Match 'Compression +: gzip:6'
        }

        It 'keeps secrets out of the object' {
            ($a | ConvertTo-Json -Depth 6) | Should -Not -Match 'fdw-mapping-secret|fixture-role-secret|PASSWORD='
        }
    }

    Context 'Compression methods and PostgreSQL majors' {
        It '-CompressionLevel 1 (the former parameter) is gzip:1' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag level1 -CompressionLevel 1 -RowCounts None
            $a.Compression | Should -Be 'gzip:1'
            $a.DumpCommand | Should -Match ' -F c -Z 1$'
        }

        It '-Compression none on PostgreSQL 15 writes an uncompressed dump that restores' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag none15 -Compression none
            $a.Compression | Should -Be 'none'
            $a.DumpCommand | Should -Match ' -F c -Z 0 '
            (Get-Content -Raw $a.ManifestPath) | Should -Match '(?m)^compression: none$'
            $r = $a | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.Notes | Should -BeNullOrEmpty
            "$($r.RowCountCheck)" | Should -Be 'Passed'
        }

        It '-Compression zstd:3 on PostgreSQL 15 -> CompressionUnsupported, nothing written' {
            $dest = Join-Path $TestEnv.BackupRoot ('zstd15-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
            { Invoke-HbBackup @Ssh @Prod -Destination $dest -Tag zstd15 -Compression zstd:3 -ErrorAction Stop } |
                Should -Throw -ErrorId 'CompressionUnsupported,HbOps.InvokeHbBackupCommand'
            try { Invoke-HbBackup @Ssh @Prod -Destination $dest -Tag zstd15 -Compression zstd:3 -ErrorAction Stop } catch { $_.Exception.Message | Should -Match 'needs pg_dump 16 or later' }
            $dest | Should -Not -Exist
        }

        It '-Compression <Value> on PostgreSQL 17 writes a dump that restores in postgres:17' -ForEach @(@{ Value = 'zstd:3' }, @{ Value = 'lz4:1' }) {
            $a = Invoke-HbBackup @Ssh -Container $TestEnv.Container17 -Database $TestEnv.Database -User $TestEnv.User -Destination $TestEnv.BackupRoot -Tag "pg17" -Compression $Value
            $a.ServerMajor | Should -Be 17
            $a.Compression | Should -Be $Value
            $a.DumpCommand | Should -Match " -F c -Z $Value "
            $r = $a | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.Sandbox.Image | Should -Be $TestEnv.Image17
            $r.Sandbox.ServerVersion | Should -Match '^17\.'
            $r.Notes | Should -BeNullOrEmpty
            "$($r.RowCountCheck)" | Should -Be 'Passed'
            $r.TeardownVerified | Should -BeTrue
        }
    }

    Context 'Content fingerprints and the catalog, read in the dump''s snapshot' {
        It 'fingerprints every counted table by default and records the catalog, in the same snapshot as the counts' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag fingerprint
            $fp = $a.ContentFingerprints
            "$($fp.Mode)" | Should -Be 'All'
            $fp.Algorithm | Should -Be 'sum-hashtextextended-v1'
            $fp.SnapshotId | Should -Be $a.RowCountSnapshot.SnapshotId
            $fp.TableCount | Should -Be $a.RowCountSnapshot.TableCount
            $fp.Settings | Should -Contain 'TimeZone=UTC'
            ($fp.Tables | Where-Object Table -eq 'readings').Rows | Should -Be 3069
            ($fp.Tables | Where-Object Table -eq 'readings').Digest | Should -Match '^[0-9a-f]{16}$'
            $a.Catalog.ObjectCount | Should -BeGreaterThan 100
            ($a.Catalog.Objects | Where-Object { "$($_.Kind)" -eq 'Sequence' -and $_.Name -eq 'invoice_no_seq' }).Detail | Should -Be '9000'
            $yaml = Get-Content -Raw $a.ManifestPath
            $yaml | Should -Match '(?m)^contentFingerprints:'
            $yaml | Should -Match '(?m)^catalog:'
            $yaml | Should -Not -Match 'fdw-mapping-secret'
        }

        It '-Fingerprint None keeps the counts and the catalog but takes no fingerprints' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag nofp -Fingerprint None
            $a.ContentFingerprints | Should -BeNullOrEmpty
            $a.RowCountSnapshot.TableCount | Should -BeGreaterThan 40
            $a.Catalog.ObjectCount | Should -BeGreaterThan 100
        }

        It '-RowCounts None takes no snapshot at all unless fingerprints are asked for' {
            $none = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag nosnap -RowCounts None
            $none.ContentFingerprints | Should -BeNullOrEmpty
            $none.Catalog | Should -BeNullOrEmpty
            $none.DumpCommand | Should -Not -Match '--snapshot'
            $fp = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag fponly -RowCounts None -Fingerprint All
            $fp.RowCountSnapshot | Should -BeNullOrEmpty
            $fp.ContentFingerprints.TableCount | Should -BeGreaterThan 40
            $fp.DumpCommand | Should -Match "--snapshot=$([regex]::Escape($fp.ContentFingerprints.SnapshotId))$"
        }

        It '-Fingerprint KeyTables fingerprints only the key tables, and needs them' {
            $a = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag fpkeys -Fingerprint KeyTables -KeyTables proof.readings, public.dot_tools
            ($a.ContentFingerprints.Tables | ForEach-Object QualifiedName) | Should -Be @('proof.readings', 'public.dot_tools')
            "$($a.ContentFingerprints.Mode)" | Should -Be 'KeyTables'
            $dest = Join-Path $TestEnv.BackupRoot ('fpnokeys-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
            { Invoke-HbBackup @Ssh @Prod -Destination $dest -Fingerprint KeyTables -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.InvokeHbBackupCommand'
            $dest | Should -Not -Exist
        }

        It 'rejects an unknown -Fingerprint mode' {
            { Invoke-HbBackup @Ssh @Prod -Fingerprint Some } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,HbOps.InvokeHbBackupCommand'
        }
    }

    Context 'Targets from the config file' {
        It 'backs up a named target, with tab completion of target names' {
            $a = Invoke-HbBackup -Target contabo-directus -ConfigPath $TestEnv.ConfigPath
            $a.Tag | Should -Be 'target'
            $a.Database | Should -Be $TestEnv.Database
            ($a.RowCountSnapshot.Tables | ForEach-Object { "$($_.Schema).$($_.Table)" }) | Sort-Object | Should -Be @('app.orders', 'public.dot_tools')
            $completion = TabExpansion2 -inputScript "Invoke-HbBackup -ConfigPath $($TestEnv.ConfigPath) -Target conta" -cursorColumn ("Invoke-HbBackup -ConfigPath $($TestEnv.ConfigPath) -Target conta".Length)
            $completion.CompletionMatches.CompletionText | Should -Contain 'contabo-directus'
        }

        It 'a misspelled key table -> KeyTableNotFound before anything is written' {
            $dest = Join-Path $TestEnv.BackupRoot ('keytable-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            $err = $null
            try { Invoke-HbBackup @Ssh @Prod -Destination $dest -Tag keytable -KeyTables public.dot_tools, public.dot_tool -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'KeyTableNotFound,HbOps.InvokeHbBackupCommand'
            $err.Exception.Message | Should -Match 'public\.dot_tool\b'
            $err.Exception.Message | Should -Not -Match 'public\.dot_tools'
            $dest | Should -Not -Exist -Because 'only the dump makes the run folder'
        }

        It 'an unknown target -> TargetNotFound' {
            { Invoke-HbBackup -Target nope -ConfigPath $TestEnv.ConfigPath -ErrorAction Stop } | Should -Throw -ErrorId 'TargetNotFound,HbOps.InvokeHbBackupCommand'
        }

        It 'completes -SshHost from the ssh config' {
            $line = "Invoke-HbBackup -SshConfigPath $($TestEnv.SshConfigPath) -SshHost cont"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain $TestEnv.SshAlias
        }

        It '-WhatIf makes no backup' {
            $dest = Join-Path $TestEnv.BackupRoot 'whatif'
            Invoke-HbBackup @Ssh @Prod -Destination $dest -WhatIf | Should -BeNullOrEmpty
            $dest | Should -Not -Exist
        }
    }

    Context 'Many targets at once' {
        BeforeAll {
            # The run window of each artefact: from its timestamp (taken when its backup began) to the end of its dump.
            function Get-RunWindow($Artefact) {
                [pscustomobject]@{ Start = $Artefact.TimestampUtc; End = $Artefact.TimestampUtc.AddSeconds($Artefact.DurationSeconds) }
            }
            $script:manyConfig = Join-Path $TestDrive 'hbops-many.yml'
            (Get-Content -Raw $TestEnv.ConfigPath) + @"
  broken:
    sshHost: $($TestEnv.SshAlias)
    sshConfigPath: $($TestEnv.SshConfigPath)
    container: hbops-no-such-container
    database: $($TestEnv.Database)
    user: $($TestEnv.User)
    backupRoot: $($TestEnv.BackupRoot)
    tag: broken
"@ | Set-Content -Path $manyConfig
        }

        It 'backs up three targets concurrently (two containers on one host, one through the jump host), each its own verified artefact' {
            $out = Invoke-HbBackup -Target contabo-directus, contabo-directus17, jump-shop -ConfigPath $TestEnv.ConfigPath -ThrottleLimit 3 -Verbose 4>&1
            $arts = @($out | Where-Object { $_ -is [HbOps.Model.HbBackupArtefact] })
            $arts.Count | Should -Be 3
            $seen = @($arts | ForEach-Object { "$($_.Container)|$($_.Database)|$($_.ServerMajor)|$($_.Tag)" } | Sort-Object)
            $seen | Should -Be (@("$($TestEnv.Container)|$($TestEnv.Database)|15|target", "$($TestEnv.Container17)|$($TestEnv.Database)|17|target17",
                "$($TestEnv.ContainerShop)|$($TestEnv.DatabaseShop)|15|shop") | Sort-Object)
            @($arts | Test-HbBackup | Where-Object { "$($_.Status)" -ne 'Verified' }) | Should -BeNullOrEmpty
            # Every run was under way before any of them ended.
            $w = $arts | ForEach-Object { Get-RunWindow $_ }
            ($w.Start | Measure-Object -Maximum).Maximum | Should -BeLessThan ($w.End | Measure-Object -Minimum).Minimum
            # Messages name their target.
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
            foreach ($t in 'contabo-directus', 'contabo-directus17', 'jump-shop') { $verbose | Where-Object { $_ -like "``[$t``] *" } | Should -Not -BeNullOrEmpty }
        }

        It 'restore-tests the targets'' artefacts concurrently with ForEach-Object -Parallel, as the README shows' {
            $arts = @(Invoke-HbBackup -Target contabo-directus, contabo-directus17, jump-shop -ConfigPath $TestEnv.ConfigPath -RowCounts None)
            $m = Join-Path $ModulePath 'HbOps.psd1'
            $results = @($arts | ForEach-Object -Parallel { Import-Module $using:m; $_ | Test-HbRestore } -ThrottleLimit 3)
            $results.Count | Should -Be 3
            @($results | Where-Object { "$($_.Result)" -notlike 'Passed*' }) | Should -BeNullOrEmpty
            ($results.Artefact.Path | Sort-Object) | Should -Be ($arts.Path | Sort-Object)
            ($results.Sandbox.Name | Sort-Object -Unique).Count | Should -Be 3
            @($results | Where-Object { -not $_.TeardownVerified }) | Should -BeNullOrEmpty
        }

        It '-ThrottleLimit 1 runs them one after another' {
            $arts = @(Invoke-HbBackup -Target contabo-directus, jump-shop -ConfigPath $TestEnv.ConfigPath -ThrottleLimit 1 -RowCounts None)
            $arts.Count | Should -Be 2
            $w = @($arts | ForEach-Object { Get-RunWindow $_ } | Sort-Object Start)
            $w[0].End | Should -BeLessOrEqual $w[1].Start
        }

        It 'one failing or unknown target does not stop the others; each error names its target' {
            $errs = $null
            $arts = @(Invoke-HbBackup -Target broken, nope, contabo-directus -ConfigPath $manyConfig -RowCounts None -ErrorVariable errs -ErrorAction SilentlyContinue)
            $arts.Count | Should -Be 1
            $arts[0].Container | Should -Be $TestEnv.Container
            $errs.Count | Should -Be 2
            $byTarget = @{}
            foreach ($e in $errs) { $byTarget["$($e.TargetObject)"] = $e.FullyQualifiedErrorId }
            $byTarget['broken'] | Should -Be 'ContainerNotFound,HbOps.InvokeHbBackupCommand'
            $byTarget['nope'] | Should -Be 'TargetNotFound,HbOps.InvokeHbBackupCommand'
        }

        It 'stops at the first failing target with -ErrorAction Stop, as a runbook expects; the others are cancelled and leave nothing running' {
            { Invoke-HbBackup -Target broken, contabo-directus -ConfigPath $manyConfig -ThrottleLimit 2 -ErrorAction Stop } |
                Should -Throw -ErrorId 'ContainerNotFound,HbOps.InvokeHbBackupCommand'
            # The command returned only after the cancelled run had cleaned up (stray files: the file's AfterAll).
            Get-HbDumpSessions | Should -Be 0
        }

        It '-WhatIf over several targets makes no backup' {
            $before = @(Get-ChildItem -Recurse -File $TestEnv.BackupRoot -Filter *.dump -ErrorAction SilentlyContinue).Count
            Invoke-HbBackup -Target contabo-directus, jump-shop -ConfigPath $TestEnv.ConfigPath -WhatIf | Should -BeNullOrEmpty
            @(Get-ChildItem -Recurse -File $TestEnv.BackupRoot -Filter *.dump -ErrorAction SilentlyContinue).Count | Should -Be $before
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
        It 'changed host key -> HostKeyMismatch naming the fingerprint' {
            $kh = Join-Path ([IO.Path]::GetTempPath()) ('hbops-kh-' + [guid]::NewGuid().ToString('N'))
            ssh-keygen -q -t ed25519 -N '' -f "$kh.key"
            "[127.0.0.1]:$($TestEnv.SshPort) $((Get-Content "$kh.key.pub").Split(' ')[0..1] -join ' ')" | Set-Content $kh
            { Invoke-HbBackup @Ssh -KnownHostsPath $kh @Prod -ErrorAction Stop } | Should -Throw -ErrorId 'HostKeyMismatch,HbOps.InvokeHbBackupCommand'
            try { Invoke-HbBackup @Ssh -KnownHostsPath $kh @Prod -ErrorAction Stop } catch { $_.Exception.Message | Should -Match 'SHA256:' }
            Remove-Item "$kh*"
        }

        It 'unknown host key -> HostKeyUnknown; -AcceptNewHostKey records it' {
            $kh = Join-Path ([IO.Path]::GetTempPath()) ('hbops-kh-' + [guid]::NewGuid().ToString('N'))
            New-Item -ItemType File $kh | Out-Null
            { Invoke-HbBackup @Ssh -KnownHostsPath $kh @Prod -ErrorAction Stop } | Should -Throw -ErrorId 'HostKeyUnknown,HbOps.InvokeHbBackupCommand'
            $a = Invoke-HbBackup @Ssh -KnownHostsPath $kh -AcceptNewHostKey @Prod -Destination $TestEnv.BackupRoot -Tag accept -RowCounts None
            $a.Path | Should -Exist
            Get-Content $kh | Should -Match "^\[127\.0\.0\.1\]:$($TestEnv.SshPort) ssh-ed25519 "
            Remove-Item $kh
        }

        It 'pg_dump failing mid-way -> DumpFailed, no artefact claimed' {
            $dest = Join-Path $TestEnv.BackupRoot 'midway'
            Remove-Item -Recurse -Force $dest -ErrorAction SilentlyContinue
            $job = Start-HbBackground { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Tag midway -RowCounts None } @($Ssh, $Prod, $dest)
            $runId = Get-HbRunId (Wait-HbFile $dest '*.partial')[0].FullName
            # Only this run's server session (other runs may be dumping at the same time).
            docker exec $TestEnv.Container psql -U $TestEnv.User -d $TestEnv.Database -qAtc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hbops-dump-$runId'" | Out-Null
            $out = $job.PowerShell.EndInvoke($job.Handle)
            $out | Should -BeNullOrEmpty
            $job.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'DumpFailed,HbOps.InvokeHbBackupCommand'
            Get-ChildItem -Recurse -File -Force $dest | Should -BeNullOrEmpty
            $job.PowerShell.Dispose()
        }

        It 'Ctrl+C during the dump stops the remote pg_dump and leaves no .partial' {
            $dest = Join-Path $TestEnv.BackupRoot 'cancel'
            Remove-Item -Recurse -Force $dest -ErrorAction SilentlyContinue
            $job = Start-HbBackground { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Tag cancel } @($Ssh, $Prod, $dest)
            $runId = Get-HbRunId (Wait-HbFile $dest '*.partial')[0].FullName
            $job.PowerShell.Stop()
            # Stop returns once the command has cleaned up: no file at all (no partial, status or temporary file).
            Get-ChildItem -Recurse -File -Force $dest | Should -BeNullOrEmpty
            Get-HbDumpSessions -RunId $runId | Should -Be '0'
            $job.PowerShell.Dispose()
        }

        It '<Fault> while the dump waits for a lock (<Mode>) -> <Outcome>, nothing claimed, no server session left' -ForEach @(
            @{ Mode = 'host'; Local = $false; Fault = 'SSH connection cut'; Outcome = 'SshConnectionLost' }
            @{ Mode = '-Local'; Local = $true; Fault = 'SSH connection cut'; Outcome = 'SshConnectionLost' }
            @{ Mode = 'host'; Local = $false; Fault = 'Ctrl+C'; Outcome = 'stopped' }
            @{ Mode = '-Local'; Local = $true; Fault = 'Ctrl+C'; Outcome = 'stopped' }
        ) {
            $dest = if ($Local) { Join-Path ([IO.Path]::GetTempPath()) ('hbops-cut-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
                    else { Join-Path $TestEnv.BackupRoot ('cut-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
            # A session of its own holds a table: the run waits on the server with its connection open and nothing
            # flowing, for as long as the test needs (deterministic, unlike a fault aimed at a dump that may have ended).
            $lock = Lock-HbProductionTable
            try {
                $ours = Invoke-HbFaultBehindLock { param($s, $p, $d, $l) Invoke-HbBackup @s @p -Destination $d -Local:$l -Tag cut -RowCounts None } @($Ssh, $Prod, $dest, $Local) `
                    -Fault $Fault -CutErrorId 'SshConnectionLost,HbOps.InvokeHbBackupCommand'
                # Still locked: the run's sessions must end by themselves, not when the lock goes.
                $run = @($ours | ForEach-Object { ($_ -split '-')[-1] } | Sort-Object -Unique)
                $run.Count | Should -Be 1 -Because "the waiting sessions are one run's ($ours)"
                Wait-HbCondition { (Get-HbDumpSessions -RunId $run[0] -WithSnapshot) -eq '0' } 30 | Should -BeTrue -Because "no server session of run $run outlives it"
                Wait-HbCondition { -not (Get-ChildItem -Recurse -File -Force $dest -ErrorAction SilentlyContinue) } 30 | Should -BeTrue -Because 'the run removes its own partial file'
            }
            finally {
                Unlock-HbProductionTable $lock
                Remove-Item -Recurse -Force $dest -ErrorAction SilentlyContinue
            }
        }

        It '-LockWaitTimeoutSeconds: a table locked longer fails the backup (<Mode>) with LockTimeout, soon, leaving no file and no session' -ForEach @(
            @{ Mode = 'host'; Local = $false }, @{ Mode = '-Local'; Local = $true }
        ) {
            $dest = if ($Local) { Join-Path ([IO.Path]::GetTempPath()) ('hbops-lockwait-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
                    else { Join-Path $TestEnv.BackupRoot ('lockwait-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
            $lock = Lock-HbProductionTable
            try {
                $waitingBefore = @(Get-HbSessionsWaitingForLock)
                $sw = [Diagnostics.Stopwatch]::StartNew()
                # Exact counts (the default): the snapshot's count query waits for the lock too, as long as pg_dump.
                { Invoke-HbBackup @Ssh @Prod -Destination $dest -Local:$Local -Tag lockwait -LockWaitTimeoutSeconds 2 -ErrorAction Stop } |
                    Should -Throw -ErrorId 'LockTimeout,HbOps.InvokeHbBackupCommand'
                $sw.Elapsed.TotalSeconds | Should -BeLessThan 60 -Because 'the backup gave up after its timeout instead of waiting for the lock'
                Wait-HbCondition { @(Get-HbSessionsWaitingForLock | Where-Object { $_ -notin $waitingBefore }).Count -eq 0 } 30 | Should -BeTrue -Because 'no session of the run waits on'
                Wait-HbCondition { -not (Get-ChildItem -Recurse -File -Force $dest -ErrorAction SilentlyContinue) } 30 | Should -BeTrue -Because 'the run removes its own partial file'
            }
            finally {
                Unlock-HbProductionTable $lock
                Remove-Item -Recurse -Force $dest -ErrorAction SilentlyContinue
            }
        }

        It 'destination not writable -> DestinationNotWritable' {
            { Invoke-HbBackup @Ssh @Prod -Destination /proc/hbops -ErrorAction Stop } |
                Should -Throw -ErrorId 'DestinationNotWritable,HbOps.InvokeHbBackupCommand'
        }
    }
}
