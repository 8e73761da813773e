# Encryption (#16): Invoke-HbBackup -Recipient encrypts with age on the docker host while the dump streams; Test-HbRestore
# -Identity decrypts inside the sandbox from a tmpfs; copies, listings, verification and retention work on the ciphertext.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    . (Join-Path $PSScriptRoot 'StorageSetup.ps1')
    $script:suffix = [guid]::NewGuid().ToString('N').Substring(0, 6)
    # Files written after this moment are the only ones that could hold the test identities.
    $script:marker = New-TemporaryFile
    $script:keys = Join-Path ([IO.Path]::GetTempPath()) "hbops-crypt-keys-$suffix"
    New-Item -ItemType Directory -Path $keys | Out-Null
    chmod 700 $keys
    age-keygen -o "$keys/k1.txt" 2>$null
    age-keygen -o "$keys/k2.txt" 2>$null
    $script:r1 = age-keygen -y "$keys/k1.txt"
    $script:r2 = age-keygen -y "$keys/k2.txt"
    $script:secret1 = (Get-Content "$keys/k1.txt" | Where-Object { $_ -like 'AGE-SECRET-KEY-1*' })
    $script:secret2 = (Get-Content "$keys/k2.txt" | Where-Object { $_ -like 'AGE-SECRET-KEY-1*' })
    ssh-keygen -q -t ed25519 -N '' -C 'crypt-test' -f "$keys/ssh" | Out-Null
    $script:sshRecipient = (Get-Content "$keys/ssh.pub") -replace ' crypt-test$', ''
    $script:root = Join-Path $TestEnv.BackupRoot "crypt-$suffix"
    $script:localRoot = Join-Path $TestDrive 'local'
    $script:verbose = [Collections.Generic.List[string]]::new()
    # The one encrypted backup most tests share: to the age recipient and the ssh-ed25519 key, on the docker host.
    $script:a = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag "crypt$suffix" -Recipient $r1, $sshRecipient -Verbose 4>&1 |
        ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $verbose.Add($_.Message) } else { $_ } }
    $script:storageRoot = New-HbStorageFolder 'pester-crypt'
    function Assert-NoSecret([string] $Text, [string] $Because) {
        $Text | Should -Not -Match ([regex]::Escape($secret1)) -Because $Because
        $Text | Should -Not -Match ([regex]::Escape($secret2)) -Because $Because
        $Text | Should -Not -Match 'AGE-SECRET-KEY-1' -Because $Because
    }
}

AfterAll {
    Remove-HbStorageFolder $storageRoot
    Remove-Item -Recurse -Force -LiteralPath $root, $keys -ErrorAction SilentlyContinue
    Remove-Item -Force -LiteralPath $marker -ErrorAction SilentlyContinue
    @(docker ps -aq --filter 'label=hbops.sandbox=true' --filter "name=pg-restore-test-crypt$suffix") + @(docker volume ls -q --filter "name=pg-restore-test-crypt$suffix") |
        Where-Object { $_ } | Should -BeNullOrEmpty -Because 'every restore test of this file removes its sandbox'
}

Describe 'Encryption' {
    Context 'Parameter validation (nothing runs, nothing is written)' {
        It 'refuses <Name> with RecipientInvalid before connecting' -ForEach @(
            @{ Name = 'a recipient with a wrong checksum'; Value = 'age1r4v5qm0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg33v' }
            @{ Name = 'a plugin recipient'; Value = 'age1yubikey1qqqqqq' }
            @{ Name = 'a word'; Value = 'alice' }
        ) {
            $dest = Join-Path $TestDrive "never-$Name".Replace(' ', '-')
            { Invoke-HbBackup @Ssh @Prod -Destination $dest -Local -Recipient $r1, $Value -ErrorAction Stop } |
                Should -Throw -ErrorId 'RecipientInvalid,HbOps.InvokeHbBackupCommand'
            $dest | Should -Not -Exist
        }
        It 'refuses a private key passed as a recipient without repeating it' {
            $err = $null
            Invoke-HbBackup @Ssh @Prod -Destination (Join-Path $TestDrive 'never-secret') -Local -Recipient $secret1 -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be 'RecipientInvalid,HbOps.InvokeHbBackupCommand'
            Assert-NoSecret ($err | Out-String) 'an error never repeats a private key'
            Assert-NoSecret "$($err[0].TargetObject)" 'nor carries it as its target'
        }
        It 'documents -Recipient and -Identity in the help' {
            (Get-Command Invoke-HbBackup).Parameters['Recipient'].ParameterType | Should -Be ([string[]])
            (Get-Command Test-HbRestore).Parameters['Identity'].ParameterType | Should -Be ([string])
            (Get-Help Invoke-HbBackup -Parameter Recipient).Description.Text -join ' ' | Should -Match 'age'
            (Get-Help Test-HbRestore -Parameter Identity).Description.Text -join ' ' | Should -Match 'tmpfs'
        }
    }

    Context 'Backup on the docker host' {
        It 'writes age ciphertext, listed in SHA256SUMS, and records the recipients and the plaintext checksum' {
            $a.Encrypted | Should -BeTrue
            $a.Encryption.Tool | Should -Be 'age'
            $a.Encryption.ToolVersion | Should -Be ((age --version) | Select-Object -First 1)
            $a.Encryption.Recipients | Should -Be @($r1, $sshRecipient)
            $a.Encryption.PlaintextSha256 | Should -Match '^[0-9a-f]{64}$'
            $a.Encryption.PlaintextSizeBytes | Should -BeGreaterThan 1MB
            $a.FileName | Should -Match '\.dump$'
            # On the disk: age's header, never pg_dump's (PGDMP), private; the checksums verify with sha256sum -c.
            (Get-Content -LiteralPath $a.Path -TotalCount 1) | Should -Be 'age-encryption.org/v1'
            (& stat -c '%a %U' $a.Path) | Should -Be "600 $($TestEnv.Operator)"
            (Get-FileHash -Algorithm SHA256 -LiteralPath $a.Path).Hash.ToLowerInvariant() | Should -Be $a.Sha256
            (Get-Item -LiteralPath $a.Path).Length | Should -Be $a.SizeBytes
            (& sh -c "cd '$($a.RunFolder)' && sha256sum -c SHA256SUMS") -join "`n" | Should -Match "$([regex]::Escape($a.FileName)): OK"
            # Decrypted here with the identity: exactly the plaintext the manifest records, a pg_dump custom archive.
            $plainSha = (& sh -c "age -d -i '$keys/k1.txt' '$($a.Path)' | sha256sum").Split(' ')[0]
            $plainSha | Should -Be $a.Encryption.PlaintextSha256
            (& sh -c "age -d -i '$keys/ssh' '$($a.Path)' | head -c 5") | Should -Be 'PGDMP'
            # The manifest says so too (read back by Get-HbBackup).
            $listed = @(Get-HbBackup @Ssh -Path $root)
            $listed.Count | Should -Be 1
            $listed[0].Encryption.PlaintextSha256 | Should -Be $a.Encryption.PlaintextSha256
            $listed[0].Encryption.Recipients | Should -Be @($r1, $sshRecipient)
        }
        It 'never had the plaintext on the host disk and left no temporary folder' {
            $verbose -join "`n" | Should -Match 'age -R <2 recipient\(s\)>'
            # No file below the backup root is a plaintext pg_dump archive, no partial file is left, no FIFO folder.
            Get-ChildItem -LiteralPath $root -Recurse -File | Where-Object { (Get-Content -LiteralPath $_.FullName -TotalCount 1 -AsByteStream -ErrorAction SilentlyContinue) -ne $null } |
                Where-Object { [Text.Encoding]::ASCII.GetString([IO.File]::ReadAllBytes($_.FullName)[0..4]) -eq 'PGDMP' } | Should -BeNullOrEmpty
            Get-ChildItem -LiteralPath $root -Recurse -Filter '*.partial' | Should -BeNullOrEmpty
            Get-ChildItem -LiteralPath ([IO.Path]::GetTempPath()) -Directory -Filter "hbops-age-$($a.RunId).*" | Should -BeNullOrEmpty
        }
        It 'Test-HbBackup verifies the ciphertext and says readability was not checked' {
            $v = $a | Test-HbBackup
            "$($v.Status)" | Should -Be 'Verified'
            $v.Encrypted | Should -BeTrue
            "$($v.ReadabilityCheck)" | Should -Be 'NotRun'
            $v.ChecksumMatches | Should -BeTrue
            $v.Message | Should -Match 'readability not checked'
        }
        It 'keeps its Encryption through Import-Clixml and JSON round trips' {
            $xml = Join-Path $TestDrive 'a.clixml'
            $a | Export-Clixml -LiteralPath $xml
            $fromXml = Import-Clixml -LiteralPath $xml | Test-HbBackup
            "$($fromXml.Status)" | Should -Be 'Verified'
            $fromXml.Encrypted | Should -BeTrue
            $fromJson = $a | ConvertTo-Json -Depth 10 -EnumsAsStrings | ConvertFrom-Json | Test-HbBackup
            "$($fromJson.Status)" | Should -Be 'Verified'
            $fromJson.Encrypted | Should -BeTrue
        }
    }

    Context 'Backup of a config target with recipients:' {
        It 'encrypts to the target''s recipients unless -Recipient is given' {
            $config = Join-Path $TestDrive 'hbops.yml'
            $troot = Join-Path $TestEnv.BackupRoot "crypt-target-$suffix"
            (Get-Content -Raw -LiteralPath $TestEnv.ConfigPath) -replace '(?m)^(\s+)backupRoot: .*$', "`$1backupRoot: $troot`n`$1recipients: [$r2]" |
                Set-Content -LiteralPath $config
            try {
                $t = Invoke-HbBackup -Target contabo-directus -ConfigPath $config -RowCounts None
                $t.Encryption.Recipients | Should -Be @($r2)
                (Get-Content -LiteralPath $t.Path -TotalCount 1) | Should -Be 'age-encryption.org/v1'
                { Invoke-HbBackup -Target contabo-directus -ConfigPath $config -Recipient 'not-a-key' -ErrorAction Stop } |
                    Should -Throw -ErrorId 'RecipientInvalid,HbOps.InvokeHbBackupCommand'
            }
            finally {
                Remove-Item -Recurse -Force -LiteralPath $troot -ErrorAction SilentlyContinue
            }
        }
    }

    Context 'Backup with -Local' {
        It 'encrypts on the docker host, so only ciphertext crossed the network' {
            $l = Invoke-HbBackup @Ssh @Prod -Destination $localRoot -Local -Tag cryptlocal -Recipient $r2 -RowCounts None
            "$($l.Location)" | Should -Be 'Local'
            $l.Encryption.Recipients | Should -Be @($r2)
            (Get-Content -LiteralPath $l.Path -TotalCount 1) | Should -Be 'age-encryption.org/v1'
            (Get-FileHash -Algorithm SHA256 -LiteralPath $l.Path).Hash.ToLowerInvariant() | Should -Be $l.Sha256
            (& sh -c "age -d -i '$keys/k2.txt' '$($l.Path)' | sha256sum").Split(' ')[0] | Should -Be $l.Encryption.PlaintextSha256
            (& sh -c "cd '$($l.RunFolder)' && sha256sum -c SHA256SUMS") -join "`n" | Should -Match "$([regex]::Escape($l.FileName)): OK"
            Get-ChildItem -LiteralPath $localRoot -Recurse -Filter '*.partial' | Should -BeNullOrEmpty
            "$(($l | Test-HbBackup).Status)" | Should -Be 'Verified'
        }
    }

    Context 'Restore test with -Identity' {
        BeforeAll {
            $script:rv = [Collections.Generic.List[string]]::new()
            $script:t = $a | Test-HbRestore -Identity "$keys/k1.txt" -Verbose 4>&1 |
                ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $rv.Add($_.Message) } else { $_ } }
        }
        It 'passes with exactly the one expected workflow_admin note, the plaintext checksum verified' {
            "$($t.Result)" | Should -Be 'PassedWithNotes'
            $notes = @($t.Messages | Where-Object { "$($_.Severity)" -eq 'NonFatal' })
            $notes.Count | Should -Be 1
            $notes[0].Rule | Should -Be 'MissingRoleUserMapping'
            $t.ChecksumVerified | Should -BeTrue
            $t.PlaintextChecksumVerified | Should -BeTrue
            $t.DecryptedSha256 | Should -Be $a.Encryption.PlaintextSha256
            $t.Jobs | Should -Be 1
            $t.RestoreCommand | Should -Match '^age -d -i /run/hbops-secret/identity /hbops-artefact/.+ \| pg_restore '
            "$($t.RowCountCheck)" | Should -Be 'Passed'
            "$($t.ContentCheck)" | Should -Be 'Passed'
            $t.Teardown.Verified | Should -BeTrue
            $t.Sandbox.IsolationVerified | Should -BeTrue
        }
        It 'never shows the identity: output, verbose output, the restore-test record, the closure record' {
            Assert-NoSecret ($t | ConvertTo-Json -Depth 30) 'the result'
            Assert-NoSecret ($rv -join "`n") 'the verbose output'
            $rv -join "`n" | Should -Match '/run/hbops-secret'
            Test-Path -LiteralPath $t.RecordPath | Should -BeTrue
            Assert-NoSecret (Get-Content -Raw -LiteralPath $t.RecordPath) 'the restore-test record'
            $closure = Join-Path $TestDrive 'closure.md'
            $rec = @($a, $t) | Export-HbClosureRecord -Path $closure -Title 'crypt drill'
            $text = Get-Content -Raw -LiteralPath $closure
            Assert-NoSecret $text 'the closure record'
            Assert-NoSecret ($rec | ConvertTo-Json -Depth 30) 'the closure record object'
            $c = $rec.Acceptance | Where-Object Criterion -like 'Encrypted artefact*'
            "$($c.Status)" | Should -Be 'Passed'
            $c.Evidence | Should -Match ([regex]::Escape($r1))
            $c.Evidence | Should -Match 'ssh-ed25519'
        }
        It 'restores from a copy on the SFTP storage with the identity (copies move the ciphertext unchanged)' {
            $c = $a | Copy-HbBackup -Destination "storage:$storageRoot" @Sftp
            $c.Sha256 | Should -Be $a.Sha256
            $c.Copy.Verified | Should -BeTrue
            (Get-Content -LiteralPath (Get-HbStorageLocal $c.Path) -TotalCount 1) | Should -Be 'age-encryption.org/v1'
            $listed = @(Get-HbBackup -Path "storage:$storageRoot" @Sftp)
            $listed[0].Encryption.PlaintextSha256 | Should -Be $a.Encryption.PlaintextSha256
            "$(($listed[0] | Test-HbBackup).Status)" | Should -Be 'Verified'
            $ct = $c | Test-HbRestore -Identity "$keys/ssh.pub" -ErrorAction SilentlyContinue -ErrorVariable bad
            $bad[0].FullyQualifiedErrorId | Should -Be 'IdentityInvalid,HbOps.TestHbRestoreCommand'
            $ct = $c | Test-HbRestore -Identity "$keys/k1.txt"
            "$($ct.Result)" | Should -Be 'PassedWithNotes'
            "$($ct.Artefact.Location)" | Should -Be 'Sftp'
            $ct.PlaintextChecksumVerified | Should -BeTrue
        }
    }

    Context 'Refusals (each leaves no sandbox)' {
        It 'an encrypted artefact without -Identity is IdentityRequired' {
            { $a | Test-HbRestore -ErrorAction Stop } | Should -Throw -ErrorId 'IdentityRequired,HbOps.TestHbRestoreCommand'
        }
        It 'a docker host without age is EncryptionUnavailable: before any file for a backup, with no sandbox left for a restore test' {
            # This machine as the docker host (no -SshHost), seen through a PATH that has everything but age.
            $shadow = Join-Path $TestDrive 'no-age-bin'
            New-Item -ItemType Directory -Path $shadow | Out-Null
            # Programs only: a link to a folder (/usr/bin/X11 -> .) would make a loop for anyone walking the temp folder.
            & sh -c 'cd "$1" && for f in /usr/bin/* /usr/sbin/*; do b=${f##*/}; case $b in age|age-keygen) ;; *) [ -d "$f" ] || [ -e "$b" ] || ln -s "$f" "$b";; esac; done' hbops-shadow $shadow
            $local = @{ Container = $TestEnv.Container; Database = $TestEnv.Database; User = $TestEnv.User }
            $lroot = Join-Path $TestDrive 'no-age'
            $made = Invoke-HbBackup @local -Destination (Join-Path $TestDrive 'with-age') -Tag "crypt$suffix" -Recipient $r1 -RowCounts None
            $path = $env:PATH
            try {
                $env:PATH = $shadow
                { Invoke-HbBackup @local -Destination $lroot -Recipient $r1 -ErrorAction Stop } | Should -Throw -ErrorId 'EncryptionUnavailable,HbOps.InvokeHbBackupCommand'
                $lroot | Should -Not -Exist
                $err = $null
                $made | Test-HbRestore -Identity "$keys/k1.txt" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                $err[0].FullyQualifiedErrorId | Should -Be 'EncryptionUnavailable,HbOps.TestHbRestoreCommand'
            }
            finally {
                $env:PATH = $path
            }
            @(docker ps -aq --filter "name=pg-restore-test-crypt$suffix") | Should -BeNullOrEmpty
        }
        It 'an identity of another recipient is DecryptionFailed, and the sandbox is gone' {
            $err = $null
            $a | Test-HbRestore -Identity "$keys/k2.txt" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'DecryptionFailed,HbOps.TestHbRestoreCommand'
            $err[0].Exception.Message | Should -Match 'no identity matched'
            Assert-NoSecret ($err | Out-String) 'the error'
            @(docker ps -aq --filter "name=pg-restore-test-crypt$suffix") | Should -BeNullOrEmpty
        }
        It 'an altered ciphertext is ChecksumMismatch before any sandbox, and DecryptionFailed when its checksums were forged too' {
            $troot = Join-Path $TestEnv.BackupRoot "crypt-tamper-$suffix"
            try {
                $x = Invoke-HbBackup @Ssh @Prod -Destination $troot -Tag "crypt$suffix" -Recipient $r1 -RowCounts None
                $file = $x.Path
                & sh -c "printf 'X' | dd of='$file' bs=1 seek=200000 conv=notrunc status=none"
                { $x | Test-HbRestore -Identity "$keys/k1.txt" -ErrorAction Stop } | Should -Throw -ErrorId 'ChecksumMismatch,HbOps.TestHbRestoreCommand'
                # The manifest and SHA256SUMS rewritten to match the altered file: age's authentication still refuses it.
                $newSha = (Get-FileHash -Algorithm SHA256 -LiteralPath $file).Hash.ToLowerInvariant()
                $manifest = $x.ManifestPath
                (Get-Content -Raw -LiteralPath $manifest).Replace("sha256: $($x.Sha256)", "sha256: $newSha") | Set-Content -NoNewline -LiteralPath $manifest
                $mSha = (Get-FileHash -Algorithm SHA256 -LiteralPath $manifest).Hash.ToLowerInvariant()
                "$newSha  $($x.FileName)`n$mSha  $($x.FileName).manifest.yml`n" | Set-Content -NoNewline -LiteralPath $x.ChecksumPath
                $y = Get-HbBackup @Ssh -Path $troot | Select-Object -First 1
                $y.Sha256 | Should -Be $newSha
                $err = $null
                $y | Test-HbRestore -Identity "$keys/k1.txt" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                $err[0].FullyQualifiedErrorId | Should -Be 'DecryptionFailed,HbOps.TestHbRestoreCommand'
                $err[0].Exception.Message | Should -Match 'age could not decrypt'
                @(docker ps -aq --filter "name=pg-restore-test-crypt$suffix") | Should -BeNullOrEmpty
            }
            finally {
                Remove-Item -Recurse -Force -LiteralPath $troot -ErrorAction SilentlyContinue
            }
        }
    }

    Context 'Retention' {
        It 'Remove-HbBackup removes encrypted artefacts like any other' {
            $rroot = Join-Path $TestEnv.BackupRoot "crypt-rm-$suffix"
            try {
                $old = Invoke-HbBackup @Ssh @Prod -Destination $rroot -Tag cryptrm -Recipient $r1 -RowCounts None
                $new = Invoke-HbBackup @Ssh @Prod -Destination $rroot -Tag cryptrm -Recipient $r1 -RowCounts None
                $removed = @(Remove-HbBackup @Ssh -Path $rroot -KeepLast 1 -Confirm:$false)
                $removed.Path | Should -Be @($old.Path)
                $old.Path | Should -Not -Exist
                $new.Path | Should -Exist
                (& sh -c "cd '$($new.RunFolder)' && sha256sum -c SHA256SUMS") -join "`n" | Should -Match "$([regex]::Escape($new.FileName)): OK"
            }
            finally {
                Remove-Item -Recurse -Force -LiteralPath $rroot -ErrorAction SilentlyContinue
            }
        }
    }

    Context 'Nothing left behind' {
        It 'no file written since the keys were made holds an identity: host disk, volumes, container logs and layers' {
            $paths = @([IO.Path]::GetTempPath(), '/var/lib/docker/volumes', '/var/lib/docker/containers', '/var/lib/docker/overlay2', "/home/$($TestEnv.Operator)", $TestEnv.BackupRoot) |
                Where-Object { Test-Path $_ }
            $hits = & sh -c 'k1=$1; k2=$2; m=$3; keys=$4; shift 4; find "$@" -xdev -type f -newer "$m" ! -path "$keys/*" -print0 2>/dev/null | xargs -0 -r grep -lF -e "$k1" -e "$k2" 2>/dev/null' `
                hbops-scan $secret1 $secret2 $marker $keys @paths
            $hits | Should -BeNullOrEmpty
            # The scan finds an identity where there is one (the test's own key folder).
            & sh -c 'find "$3" -type f -newer "$2" -print0 | xargs -0 -r grep -lF -e "$1"' hbops-scan $secret1 $marker $keys | Should -Be "$keys/k1.txt"
        }
        It 'leaves no sandbox, volume, stray file or temporary folder of its own' {
            # Other runs' sandboxes may exist meanwhile on the shared engine: this file's are named after its tag.
            @(docker ps -aq --filter 'label=hbops.sandbox=true' --filter "name=pg-restore-test-crypt$suffix") | Should -BeNullOrEmpty
            @(docker volume ls -q --filter 'label=hbops.sandbox=true' --filter "name=pg-restore-test-crypt$suffix") | Should -BeNullOrEmpty
            @(Get-HbStrayFiles -Path $root, $localRoot) | Should -BeNullOrEmpty
            Get-ChildItem -LiteralPath ([IO.Path]::GetTempPath()) -Directory -Filter 'hbops-age-*' | Should -BeNullOrEmpty -Because 'the dump script removes its FIFO folder'
        }
    }
}
