BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:artefact = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag restore
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty -Because 'every restore test removes its sandbox'
}

Describe 'Test-HbRestore' {
    Context 'Parameter validation' {
        It 'takes the artefact from the pipeline' {
            $p = (Get-Command Test-HbRestore).Parameters['Artefact']
            ($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -Contain $true
        }
        It 'rejects -Jobs 0' {
            { $artefact | Test-HbRestore -Jobs 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.TestHbRestoreCommand'
        }
        It 'rejects an assertion without Expected' {
            { $artefact | Test-HbRestore -Assertion @{ Sql = 'SELECT 1' } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.TestHbRestoreCommand'
        }
        It 'rejects a server setting that could smuggle anything into the server command' {
            { $artefact | Test-HbRestore -ServerSetting @{ work_mem = '64MB -c shared_preload_libraries=x' } -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidArgument,HbOps.TestHbRestoreCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
    }

    Context 'Sandbox server settings' {
        It 'runs the throwaway server without fsync by default and records the settings it used' {
            $fast = $artefact | Test-HbRestore -Assertion @{ Name = 'settings'; Sql = "SELECT current_setting('fsync') || ' ' || current_setting('full_page_writes')"; Expected = 'off off' }
            $fast.Assertions[0].Passed | Should -BeTrue -Because $fast.Assertions[0].Actual
            $fast.Sandbox.ServerSettings | Should -Contain 'fsync=off'
            $fast.Sandbox.ServerVersion | Should -Match '^15\.'
        }
        It 'takes -ServerSetting over the defaults (a durable sandbox) and still passes' {
            $durable = $artefact | Test-HbRestore -ServerSetting @{ fsync = 'on'; full_page_writes = 'on'; wal_level = '' } -Assertion @{
                Name = 'settings'; Sql = "SELECT current_setting('fsync') || ' ' || current_setting('full_page_writes') || ' ' || current_setting('wal_level')"; Expected = 'on on replica' }
            "$($durable.Result)" | Should -Be 'PassedWithNotes'
            $durable.Assertions[0].Passed | Should -BeTrue -Because $durable.Assertions[0].Actual
            $durable.Sandbox.ServerSettings | Should -Contain 'fsync=on'
            $durable.Sandbox.ServerSettings | Should -Not -Contain 'wal_level=minimal'
            $durable.TeardownVerified | Should -BeTrue
        }
        It 'reports a server that never starts as SandboxStartFailed with its log, and leaves nothing behind' {
            # PostgreSQL refuses an unknown setting at start-up, so the sandbox's initialisation stops.
            $err = $null
            try { $artefact | Test-HbRestore -ServerSetting @{ hbops_no_such_setting = 'on' } -ErrorAction Stop } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -Be 'SandboxStartFailed,HbOps.TestHbRestoreCommand'
            $err.Exception.Message | Should -Match 'did not become ready \(container stopped\)'
            # the end of the sandbox's log: the server refused the setting while the database was being made
            $err.Exception.Message | Should -Match 'unrecognized configuration parameter "hbops_no_such_setting"'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
        It 'passes the same way when the image''s entrypoint initialises the sandbox' {
            $r = $artefact | Test-HbRestore -Initialization ImageEntrypoint
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            "$($r.Sandbox.Initialization)" | Should -Be 'ImageEntrypoint'
            $notes = @($r.Messages | Where-Object { "$($_.Severity)" -eq 'NonFatal' })
            $notes.Count | Should -Be 1
            $notes[0].Rule | Should -Be 'MissingRoleUserMapping'
            $r.FatalCount | Should -Be 0
            $r.RowCountMismatches | Should -Be 0
            $r.TeardownVerified | Should -BeTrue
        }
    }

    Context 'Piped from Invoke-HbBackup' {
        BeforeAll {
            $script:r = $artefact | Test-HbRestore -Assertion @{
                Name = 'dot_tools 991/992 pairing'
                Sql = 'SELECT count(*) FROM dot_tools WHERE (id = 991 AND paired_with = 992) OR (id = 992 AND paired_with = 991)'
                Expected = '2'
            }
        }

        It 'passes with exactly the one expected workflow_admin note' {
            $r | Should -BeOfType 'HbOps.Model.HbRestoreTestResult'
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $notes = @($r.Messages | Where-Object { "$($_.Severity)" -eq 'NonFatal' })
            $notes.Count | Should -Be 1
            $notes[0].Rule | Should -Be 'MissingRoleUserMapping'
            $notes[0].Text | Should -Match 'role "workflow_admin" does not exist'
            $r.FatalCount | Should -Be 0
        }

        It 'verified the checksum, the isolation and the teardown' {
            $r.ChecksumVerified | Should -BeTrue
            $r.Sandbox.IsolationVerified | Should -BeTrue
            $r.Sandbox.NetworkMode | Should -Be 'none'
            $r.Sandbox.PublishedPorts | Should -BeNullOrEmpty
            $r.TeardownVerified | Should -BeTrue
            "$($r.Teardown.Status)" | Should -Be 'Removed'
        }

        It 'matched every exact row count and the assertion' {
            "$($r.RowCountCheck)" | Should -Be 'Passed'
            $r.RowCounts.Count | Should -Be $artefact.RowCountSnapshot.TableCount
            @($r.RowCounts | Where-Object { -not $_.Match }) | Should -BeNullOrEmpty
            $r.Assertions[0].Passed | Should -BeTrue
            $r.TableCount | Should -Be $artefact.RowCountSnapshot.TableCount
        }

        It 'never shows the user mapping password' {
            ($r | ConvertTo-Json -Depth 8) | Should -Not -Match 'fdw-mapping-secret'
        }

        It 'proved every table''s content equal to the dump''s snapshot' {
            "$($r.ContentCheck)" | Should -Be 'Passed'
            $r.Content.Count | Should -Be $artefact.ContentFingerprints.TableCount
            @($r.Content | Where-Object { -not $_.Equal }) | Should -BeNullOrEmpty
            ($r.Content | Where-Object Table -eq 'readings').ReferenceDigest | Should -Be ($artefact.ContentFingerprints.Tables | Where-Object Table -eq 'readings').Digest
        }

        It 'compared the catalog and explained every difference by --no-owner, --no-privileges and the missing role' {
            "$($r.CatalogCheck)" | Should -Be 'Passed'
            $r.Catalog.UnexpectedCount | Should -Be 0
            ($r.Catalog.Differences | ForEach-Object { "$($_.Change) $($_.Kind) $($_.QualifiedName)" } | Sort-Object) | Should -Be @(
                'Missing UserMapping workflow_remote for workflow_admin', 'Owner Sequence proof.reading_log_id_seq', 'Owner Table proof.reading_log', 'Privileges Table proof.readings')
            ($r.Catalog.Counts | Where-Object { $_.Schema -eq 'proof' -and "$($_.Kind)" -eq 'Trigger' }).Difference | Should -Be 1
            "$($r.Amcheck.Status)" | Should -Be 'NotRun'
        }

        It 'shows the proof in its default view' {
            $view = $r | Format-Table | Out-String -Width 400
            $view | Should -Match 'Content\s+Catalog\s+Amcheck'
            $view | Should -Match 'Passed \(41/41\)'
            $view | Should -Match 'Passed \(0 unexp\., 4 exp\.\)'
        }
    }

    Context 'pg_amcheck on the restored copy' {
        It 'takes -Amcheck and -HeapAllIndexed as switches' {
            (Get-Command Test-HbRestore).Parameters['Amcheck'].SwitchParameter | Should -BeTrue
            (Get-Command Test-HbRestore).Parameters['HeapAllIndexed'].SwitchParameter | Should -BeTrue
        }

        It 'checks heap and indexes with -HeapAllIndexed (which implies -Amcheck) and passes on a good restore' {
            $a = $artefact | Test-HbRestore -HeapAllIndexed
            "$($a.Result)" | Should -Be 'PassedWithNotes'
            "$($a.Amcheck.Status)" | Should -Be 'Passed'
            $a.Amcheck.HeapAllIndexed | Should -BeTrue
            $a.Amcheck.RelationsChecked | Should -BeGreaterThan 100
            $a.Amcheck.Command | Should -Match '^pg_amcheck -U directus --install-missing --progress -j 2 --heapallindexed directus$'
            ($a.Phases | Where-Object Name -eq 'Amcheck').Status | Should -Be 'Passed'
            $a.TeardownVerified | Should -BeTrue
        }
    }

    Context 'A local artefact with the engine reached over SSH' {
        It 'uploads the artefact to the host for the sandbox, verifies it there, and removes the upload' {
            $dir = Join-Path ([IO.Path]::GetTempPath()) ('hbops-up-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            # Upload folders of other processes (or of a run killed long ago) are not this test's: only new ones count.
            $before = @(Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory).FullName
            try {
                $local = Invoke-HbBackup @Ssh @Prod -Destination $dir -Local -Tag upload
                $r = $local | Test-HbRestore -Verbose 4>&1
                $result = $r | Where-Object { $_ -is [HbOps.Model.HbRestoreTestResult] }
                "$($result.Result)" | Should -Be 'PassedWithNotes'
                ($r | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match 'Uploading the local artefact'
                $result.Sandbox.Mounts -join ' ' | Should -Match 'bind:/tmp/hbops-upload-'
                $upload = ($result.Sandbox.Mounts -join ' ') -replace '^.*bind:(/tmp/hbops-upload-[^/ ]+).*$', '$1'
                $upload | Should -Not -Exist
                @(Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory).FullName | Where-Object { $_ -notin $before } | Should -BeNullOrEmpty
            }
            finally { Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue }
        }
    }

    Context 'A local artefact restored on this machine''s engine, with TMPDIR elsewhere than /tmp' {
        It 'keeps the sandbox''s private socket folder under TMPDIR and removes it with the sandbox' {
            $dir = Join-Path ([IO.Path]::GetTempPath()) ('hbops-lt-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            $local = Invoke-HbBackup @Ssh @Prod -Destination $dir -Local -Tag tmpdir
            $tmp = Join-Path '/var/tmp' ('hbops-tmpdir-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            New-Item -ItemType Directory $tmp | Out-Null
            $saved = $env:TMPDIR
            try {
                $env:TMPDIR = $tmp
                # The same artefact as if its database ran on this machine: the sandbox uses this machine's engine.
                $here = Copy-HbArtefact $local { param($a) $a.Host = [HbOps.Model.HbHost]::Local }
                $r = $here | Test-HbRestore -KeepSandbox
                "$($r.Result)" | Should -Be 'PassedWithNotes'
                "$($r.Sandbox.Host.Kind)" | Should -Be 'Local'
                $r.Sandbox.SocketDirectory | Should -BeLike "$tmp/hbops-sock-*"
                @(Get-ChildItem $tmp -Filter 'hbops-sock-*' -Directory).Count | Should -Be 1
                $removal = $r.Sandbox | Remove-HbSandbox -Confirm:$false
                $removal.Verified | Should -BeTrue
                Get-ChildItem $tmp -Filter 'hbops-sock-*' -Directory | Should -BeNullOrEmpty
            } finally {
                if ($r -and $r.Sandbox -and -not $removal) { $r.Sandbox | Remove-HbSandbox -Confirm:$false | Out-Null }
                $env:TMPDIR = $saved
                Remove-Item -Recurse -Force $tmp, $dir -ErrorAction SilentlyContinue
            }
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
    }

    Context 'An empty database (no tables at all)' {
        BeforeAll {
            $script:emptyDb = 'hbops_empty_' + [guid]::NewGuid().ToString('N').Substring(0, 6)
            docker exec $TestEnv.Container psql -U $TestEnv.User -d $TestEnv.Database -qc "CREATE DATABASE $emptyDb" | Out-Null
        }
        AfterAll {
            docker exec $TestEnv.Container psql -U $TestEnv.User -d $TestEnv.Database -qc "DROP DATABASE IF EXISTS $emptyDb WITH (FORCE)" | Out-Null
        }
        It 'restores to an empty database and passes with a note, the snapshot being the evidence' {
            $a = Invoke-HbBackup @Ssh @Prod -Database $emptyDb -Destination $TestEnv.BackupRoot -Tag empty
            $a.RowCountSnapshot.TableCount | Should -Be 0
            $r = $a | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.FailureReasons | Should -BeNullOrEmpty
            $r.TableCount | Should -Be 0
            $r.Notes -join ' ' | Should -Match 'no tables, as the dump''s own snapshot recorded'
            "$($r.RowCountCheck)" | Should -Be 'Passed'
            "$($r.ContentCheck)" | Should -Be 'Passed'
            $criteria = ($a, $r | Export-HbClosureRecord -Path (Join-Path $TestDrive 'empty.yml')).Acceptance
            ($criteria | Where-Object Criterion -like '*content equals*').Status | Should -Be 'Passed'
            ($criteria | Where-Object Criterion -like '*row count of the backup snapshot*').Status | Should -Be 'Passed'
        }
        It 'still fails a restore with no tables when the artefact carries no snapshot to say so' {
            $a = Invoke-HbBackup @Ssh @Prod -Database $emptyDb -Destination $TestEnv.BackupRoot -Tag empty -RowCounts None
            $r = $a | Test-HbRestore -ErrorAction SilentlyContinue -ErrorVariable failed
            "$($r.Result)" | Should -Be 'Failed'
            $r.FailureReasons -join ' ' | Should -Match 'no snapshot saying production had none'
            $failed.FullyQualifiedErrorId | Should -Be 'RestoreTestFailed,HbOps.TestHbRestoreCommand'
        }
    }

    Context 'Across PostgreSQL majors' {
        It 'restores a PostgreSQL 15 artefact into postgres:17 and notes the newer major' {
            $r = $artefact | Test-HbRestore -Image $TestEnv.Image17
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.FailureReasons | Should -BeNullOrEmpty
            $r.Notes | Should -HaveCount 1
            $r.Notes[0] | Should -Match 'newer major.*PostgreSQL 17.*PostgreSQL 15\.'
            $r.Sandbox.ServerVersion | Should -Match '^17\.'
            "$($r.RowCountCheck)" | Should -Be 'Passed'
            $r.TeardownVerified | Should -BeTrue
        }

        It 'refuses a PostgreSQL 17 artefact in postgres:15 before a container or volume exists' {
            $a17 = Invoke-HbBackup @Ssh -Container $TestEnv.Container17 -Database $TestEnv.Database -User $TestEnv.User -Destination $TestEnv.BackupRoot -Tag restore17 -RowCounts None
            $name = 'pg-restore-test-down-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
            $since = [DateTimeOffset]::UtcNow.AddSeconds(-1).ToUnixTimeSeconds()
            { $a17 | Test-HbRestore -Image $TestEnv.Image -SandboxName $name -ErrorAction Stop } | Should -Throw -ErrorId 'SandboxMajorTooLow,HbOps.TestHbRestoreCommand'
            # Every event about the sandbox's container or volume since the call: not created and removed again, never created.
            $until = ([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() / 1000).ToString('F3', [cultureinfo]::InvariantCulture)
            docker events --since $since --until $until --filter "container=$name" --format '{{.Type}} {{.Action}}' | Should -BeNullOrEmpty
            docker events --since $since --until $until --filter "volume=$name-data" --format '{{.Type}} {{.Action}}' | Should -BeNullOrEmpty
        }
    }

    Context 'By -Path on the host' {
        It 'reads the manifest beside the dump and restores it' {
            $r = Test-HbRestore @Ssh -Path $artefact.Path
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.Artefact.Sha256 | Should -Be $artefact.Sha256
        }

        It 'takes dump files from Get-ChildItem (FullName binds -Path)' {
            # The test environment's docker host is this machine, so its backup root is visible here too.
            $r = Get-ChildItem $artefact.Path | Test-HbRestore @Ssh
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.Artefact.Path | Should -Be $artefact.Path
            $r.TeardownVerified | Should -BeTrue
        }
    }

    Context 'An artefact that made a round trip' {
        It 'restores an artefact read back with Import-Clixml' {
            $file = Join-Path $TestDrive 'artefact.xml'
            $artefact | Export-Clixml $file
            $r = Import-Clixml $file | Test-HbRestore
            "$($r.Result)" | Should -Be 'PassedWithNotes'
            $r.Artefact.Sha256 | Should -Be $artefact.Sha256
            "$($r.RowCountCheck)" | Should -Be 'Passed' -Because 'the row-count snapshot arrived whole'
        }
    }

    Context 'Assertions are read-only queries' {
        BeforeAll {
            # Every form that once ran through psql's meta-command interpreter or wrote: each must fail, none may leave a trace.
            $script:probe = 'hbops-probe-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
            $script:forms = [ordered]@{
                shell        = @{ Sql = "\! touch /tmp/$probe-shell"; Expected = '' }
                output       = @{ Sql = "\o /tmp/$probe-o`nSELECT 1"; Expected = '' }
                outputShell  = @{ Sql = "\o |touch /tmp/$probe-pipe`nSELECT 1"; Expected = '' }
                gfile        = @{ Sql = "SELECT 1 \g /tmp/$probe-g"; Expected = '' }
                copyProgram  = @{ Sql = "COPY (SELECT 1) TO PROGRAM 'touch /tmp/$probe-copy'"; Expected = '' }
                copyFile     = @{ Sql = "COPY (SELECT 1) TO '/tmp/$probe-copyfile'"; Expected = '' }
                createTable  = @{ Sql = "CREATE TABLE public.""$probe"" (x int)"; Expected = '' }
                escape       = @{ Sql = "COMMIT; CREATE TABLE public.""$probe-2"" (x int)"; Expected = '' }
                noResult     = @{ Sql = 'SET search_path = public'; Expected = '' }
                loExport     = @{ Sql = "SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/$probe-lo')"; Expected = '1' }
            }
            $list = foreach ($k in $forms.Keys) { @{ Name = $k; Sql = $forms[$k].Sql; Expected = $forms[$k].Expected } }
            $list += @{ Name = 'plain'; Sql = "SELECT count(*) FROM dot_tools WHERE id IN (991,992)"; Expected = '2' }
            $list += @{ Name = 'backslash in a literal'; Sql = "SELECT E'a\\b' || '\! x' -- \o comment"; Expected = 'a\b\! x' }
            # A Failed verdict is also a RestoreTestFailed error (the Test-* rule): kept for the assertion below.
            $script:ro = $artefact | Test-HbRestore -KeepSandbox -Assertion $list -ErrorAction SilentlyContinue -ErrorVariable roErrors
            $script:roErrors = $roErrors
            $script:roSandbox = $ro.Sandbox.Name
        }
        AfterAll {
            if ($roSandbox) { Remove-HbSandbox @Ssh -Name $roSandbox -Confirm:$false | Out-Null }
        }

        It 'fails every form that is not a read-only query returning rows: <Form>' -ForEach @(
            # psql never sees the text as a script: a backslash reaches the server, which cannot parse it
            @{ Form = 'shell'; Reason = 'syntax error at or near "\\"' }
            @{ Form = 'output'; Reason = 'syntax error at or near "\\"' }
            @{ Form = 'outputShell'; Reason = 'syntax error at or near "\\"' }
            @{ Form = 'gfile'; Reason = 'syntax error at or near "\\"' }
            # only one statement that returns rows can be opened as a cursor
            @{ Form = 'copyProgram'; Reason = 'cannot open COPY query as cursor' }
            @{ Form = 'copyFile'; Reason = 'cannot open COPY query as cursor' }
            @{ Form = 'createTable'; Reason = 'cannot open CREATE TABLE query as cursor' }
            @{ Form = 'escape'; Reason = 'cannot open multi-query plan as cursor' }
            @{ Form = 'noResult'; Reason = 'cannot open SET query as cursor' }
            # the assertion role is no superuser
            @{ Form = 'loExport'; Reason = 'permission denied for function lo_export' }
        ) {
            $a = $ro.Assertions | Where-Object Name -eq $Form
            "$($a.Status)" | Should -Be 'Failed' -Because "'$($a.Sql)' gave '$($a.Actual)'"
            $a.Actual | Should -Match $Reason
            $ro.FailureReasons -join "`n" | Should -Match ([regex]::Escape("Assertion '$Form' failed"))
        }

        It 'still runs a plain query and keeps backslashes inside literals and comments' {
            ($ro.Assertions | Where-Object Name -eq 'plain').Passed | Should -BeTrue
            $b = $ro.Assertions | Where-Object Name -eq 'backslash in a literal'
            $b.Passed | Should -BeTrue -Because $b.Actual
            "$($ro.Result)" | Should -Be 'Failed'
            @($roErrors).Count | Should -Be 1
            $roErrors[0].FullyQualifiedErrorId | Should -Be 'RestoreTestFailed,HbOps.TestHbRestoreCommand'
        }

        It 'left no file and no table in the sandbox' {
            docker exec $roSandbox sh -c "ls /tmp | grep -c '$probe' || true" | Should -Be '0'
            docker exec $roSandbox psql -U $ro.Sandbox.User -d $ro.Sandbox.Database -qAtc "SELECT count(*) FROM pg_class WHERE relname LIKE '$probe%'" | Should -Be '0'
            docker exec $roSandbox psql -U $ro.Sandbox.User -d $ro.Sandbox.Database -qAtc 'SELECT count(*) FROM pg_largeobject_metadata' | Should -Be '0'
        }
    }

    Context 'Refusals' {
        It 'refuses a corrupted artefact (one byte flipped) before pg_restore reads it, leaving no sandbox' {
            $bad = New-HbCorruptArtefact $artefact
            { $bad | Test-HbRestore -ErrorAction Stop } | Should -Throw -ErrorId 'ChecksumMismatch,HbOps.TestHbRestoreCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
            Remove-Item $bad.Path
        }

        It 'refuses a sandbox image of a lower major' {
            $old = Copy-HbArtefact $artefact { param($a) $a.ServerMajor = 16 }
            { $old | Test-HbRestore -Image postgres:15 -ErrorAction Stop } | Should -Throw -ErrorId 'SandboxMajorTooLow,HbOps.TestHbRestoreCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }

        It 'refuses a sandbox name that collides with an existing container' {
            { $artefact | Test-HbRestore -SandboxName $TestEnv.Container -ErrorAction Stop } | Should -Throw -ErrorId 'SandboxCollision,HbOps.TestHbRestoreCommand'
            docker inspect -f '{{.State.Running}}' $TestEnv.Container | Should -Be 'true'
        }

        It 'fails the test when pg_restore hits a fatal error (extension missing in the sandbox image)' {
            $f = $artefact | Test-HbRestore -Image hbops-test/postgres:15-nofdw -ErrorAction SilentlyContinue -ErrorVariable err
            "$($f.Result)" | Should -Be 'Failed'
            @($err).Count | Should -Be 1 -Because 'a Failed verdict is also one RestoreTestFailed error'
            $err[0].FullyQualifiedErrorId | Should -Be 'RestoreTestFailed,HbOps.TestHbRestoreCommand'
            [object]::ReferenceEquals($err[0].TargetObject, $f) | Should -BeTrue -Because 'the error carries the result it reports'
            $f.FatalCount | Should -BeGreaterThan 0
            ($f.Messages | Where-Object { "$($_.Severity)" -eq 'Fatal' }).Text -join "`n" | Should -Match 'postgres_fdw'
            $f.TeardownVerified | Should -BeTrue
        }

        It 'Ctrl+C mid-restore leaves no container or volume' {
            Stop-HbOnceSandboxExists { param($a) $a | Test-HbRestore } @(, $artefact) | Should -BeTrue -Because 'the sandbox must exist before we interrupt'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }

        It 'fails the test (Result Failed) when an assertion does not hold' {
            $f = $artefact | Test-HbRestore -Assertion @{ Name = 'impossible'; Sql = 'SELECT count(*) FROM dot_tools'; Expected = '0' } -ErrorAction SilentlyContinue -ErrorVariable err
            "$($f.Result)" | Should -Be 'Failed'
            $err[0].FullyQualifiedErrorId | Should -Be 'RestoreTestFailed,HbOps.TestHbRestoreCommand'
            "$($err[0].CategoryInfo.Category)" | Should -Be 'InvalidResult'
            $err[0].Exception.Message | Should -Match 'impossible'
            $f.FailureReasons -join ' ' | Should -Match 'impossible'
            $f.TeardownVerified | Should -BeTrue
        }
    }
}
