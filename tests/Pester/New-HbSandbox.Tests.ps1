BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:artefact = Invoke-HbBackup @Ssh @Prod -Destination $TestEnv.BackupRoot -Tag newsandbox -RowCounts None
}

AfterAll {
    Get-HbLeftovers | Should -BeNullOrEmpty -Because 'every sandbox made here is removed again'
}

Describe 'New-HbSandbox' {
    Context 'Parameter validation' {
        It 'takes the artefact from the pipeline or -Path' {
            $c = Get-Command New-HbSandbox
            ($c.Parameters['Artefact'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -BeTrue
            $c.ParameterSets.Name | Should -Contain 'Path'
        }
        It 'rejects a ready timeout below 5 seconds' {
            { $artefact | New-HbSandbox -ReadyTimeoutSeconds 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,HbOps.NewHbSandboxCommand'
        }
        It 'rejects a server setting that could smuggle anything into the server command' {
            { $artefact | New-HbSandbox -ServerSetting @{ 'fsync=off -c x' = 'y' } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,HbOps.NewHbSandboxCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
        It '-WhatIf creates nothing' {
            $artefact | New-HbSandbox -WhatIf | Should -BeNullOrEmpty
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
    }

    Context 'A sandbox for an artefact on the docker host' {
        BeforeAll {
            $script:sb = $artefact | New-HbSandbox -TimeToLiveMinutes 15
        }
        AfterAll {
            if ($sb) { $sb | Remove-HbSandbox -Confirm:$false | Out-Null }
        }
        It 'returns a running, isolated sandbox of the artefact major with the artefact mounted read-only' {
            $sb | Should -BeOfType 'HbOps.Model.HbSandbox'
            $sb.Running | Should -BeTrue
            $sb.IsolationVerified | Should -BeTrue
            $sb.NetworkMode | Should -Be 'none'
            $sb.PublishedPorts | Should -BeNullOrEmpty
            $sb.ImageMajor | Should -Be $artefact.ServerMajor
            $sb.Mounts | Should -Contain "bind:$(Split-Path $artefact.Path):/hbops-artefact:ro"
            $sb.Mounts | Should -Contain "volume:$($sb.VolumeName):/var/lib/postgresql/data:rw"
            $sb.ExpiresUtc - $sb.CreatedUtc | Should -Be ([timespan]::FromMinutes(15))
        }
        It 'is ready: its server accepts connections and the artefact is readable but not writable' {
            docker exec $sb.Name pg_isready -q -h 127.0.0.1 -U $sb.User
            $LASTEXITCODE | Should -Be 0
            docker exec $sb.Name pg_restore --list "/hbops-artefact/$($artefact.FileName)" | Should -Not -BeNullOrEmpty
            docker exec $sb.Name sh -c "touch /hbops-artefact/x 2>/dev/null"
            $LASTEXITCODE | Should -Not -Be 0
        }
        It 'is listed by Get-HbSandbox with its labels' {
            $listed = Get-HbSandbox @Ssh | Where-Object Name -eq $sb.Name
            $listed | Should -Not -BeNullOrEmpty
            $listed.Database | Should -Be $artefact.Database
            $listed.Expired | Should -BeFalse
            "$($listed.Initialization)" | Should -Be 'Direct'
        }
        It 'holds initdb''s cluster (UTF8) with its first database renamed to the artefact''s, started directly' {
            "$($sb.Initialization)" | Should -Be 'Direct'
            docker exec $sb.Name psql -U $sb.User -d $sb.Database -Atc "SELECT string_agg(datname || ':' || pg_encoding_to_char(encoding), ',' ORDER BY datname) FROM pg_database" |
                Should -Be "$($artefact.Database):UTF8,template0:UTF8,template1:UTF8"
            docker exec $sb.Name cat /proc/1/comm | Should -Be 'postgres'
            # no temporary initialisation server: the log starts with the one server start-up
            @(docker logs $sb.Name 2>&1 | Select-String 'database system is ready to accept connections').Count | Should -Be 1
        }
        It 'never shows the sandbox password' {
            ($sb | ConvertTo-Json -Depth 5) | Should -Not -Match 'POSTGRES_PASSWORD'
            docker inspect -f '{{json .Config.Labels}}' $sb.Name | Should -Not -Match 'PASSWORD'
        }
        It 'is removed (and verified gone) by Remove-HbSandbox' {
            $x = $sb | Remove-HbSandbox -Confirm:$false
            $x.Verified | Should -BeTrue
            "$($x.Status)" | Should -Be 'Removed'
            $script:sb = $null
        }
    }

    Context 'A local artefact with the engine reached over SSH' {
        It 'uploads the artefact for the sandbox, and Remove-HbSandbox removes the uploaded copy too' {
            $dir = Join-Path ([IO.Path]::GetTempPath()) ('hbops-newsb-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
            $local = Invoke-HbBackup @Ssh @Prod -Destination $dir -Local -Tag upload -RowCounts None
            $sb = $local | New-HbSandbox
            $upload = ($sb.Mounts | Where-Object { $_ -like 'bind:/tmp/hbops-upload-*' }) -replace '^bind:([^:]+):.*$', '$1'
            $upload | Should -Not -BeNullOrEmpty
            Join-Path $upload $local.FileName | Should -Exist
            ($sb | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue
            $upload | Should -Not -Exist
            Remove-Item -Recurse -Force $dir
        }
    }

    Context 'With the image''s entrypoint' {
        It 'lets the image initialise the cluster (POSTGRES_DB beside the postgres database) and records it' {
            $sb = $artefact | New-HbSandbox -Initialization ImageEntrypoint
            try {
                "$($sb.Initialization)" | Should -Be 'ImageEntrypoint'
                $sb.IsolationVerified | Should -BeTrue
                docker exec $sb.Name psql -U $sb.User -d $sb.Database -Atc "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database" |
                    Should -Be ((@($artefact.Database, 'postgres', 'template0', 'template1') | Sort-Object) -join ',')
                docker inspect -f '{{json .Config.Entrypoint}}' $sb.Name | Should -Be (docker image inspect -f '{{json .Config.Entrypoint}}' $TestEnv.Image)
                "$((Get-HbSandbox @Ssh | Where-Object Name -eq $sb.Name).Initialization)" | Should -Be 'ImageEntrypoint'
            }
            finally { ($sb | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue }
        }
    }

    Context 'By -Path on the host' {
        It 'reads the manifest beside the dump' {
            $sb = New-HbSandbox @Ssh -Path $artefact.Path
            $sb.Database | Should -Be $artefact.Database
            ($sb | Remove-HbSandbox -Confirm:$false).Verified | Should -BeTrue
        }
    }

    Context 'Refusals (nothing is left behind)' {
        It 'refuses a corrupted artefact (one byte flipped)' {
            $bad = New-HbCorruptArtefact $artefact
            { $bad | New-HbSandbox -ErrorAction Stop } | Should -Throw -ErrorId 'ChecksumMismatch,HbOps.NewHbSandboxCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
            Remove-Item $bad.Path
        }
        It 'refuses an image of a lower major than the artefact' {
            $newer = Copy-HbArtefact $artefact { param($a) $a.ServerMajor = 16 }
            { $newer | New-HbSandbox -Image $TestEnv.Image -ErrorAction Stop } | Should -Throw -ErrorId 'SandboxMajorTooLow,HbOps.NewHbSandboxCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
        It 'refuses a name that collides with an existing container' {
            { $artefact | New-HbSandbox -SandboxName $TestEnv.Container -ErrorAction Stop } | Should -Throw -ErrorId 'SandboxCollision,HbOps.NewHbSandboxCommand'
            docker inspect -f '{{.State.Running}}' $TestEnv.Container | Should -Be 'true'
        }
        It 'reports a server that never starts as SandboxStartFailed and removes what it made' {
            { $artefact | New-HbSandbox -ServerSetting @{ hbops_no_such_setting = 'x' } -ReadyTimeoutSeconds 30 -ErrorAction Stop } |
                Should -Throw -ErrorId 'SandboxStartFailed,HbOps.NewHbSandboxCommand'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
        It 'Ctrl+C while the server starts leaves no container or volume' {
            Stop-HbOnceSandboxExists { param($a) $a | New-HbSandbox } @(, $artefact) | Should -BeTrue -Because 'the sandbox must exist before we interrupt'
            Get-HbLeftovers | Should -BeNullOrEmpty
        }
    }
}
