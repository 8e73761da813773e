BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:Cmdlets = @(Get-Command -Module HbOps | ForEach-Object Name)
    # Every example of every cmdlet's help, to be run against the real environment.
    $script:Examples = @(foreach ($name in $Cmdlets) {
        $i = 0
        foreach ($ex in (Get-Help $name -Examples).Examples.Example) { $i++; @{ Command = $name; Index = $i; Code = $ex.Code } }
    })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

Describe 'HbOps module' {
    It 'exports exactly the documented cmdlets, including the four named by the user' {
        $names = (Get-Command -Module HbOps).Name | Sort-Object
        $names | Should -Be @('Compare-HbCatalog', 'Compare-HbContent', 'Compare-HbRowCounts', 'Copy-HbBackup', 'Export-HbClosureRecord', 'Get-HbBackup', 'Get-HbRestoreHistory', 'Get-HbSandbox', 'Import-HbClosureRecord', 'Invoke-HbBackup', 'New-HbSandbox', 'Remove-HbBackup', 'Remove-HbSandbox', 'Test-HbBackup', 'Test-HbPreflight', 'Test-HbRestore')
    }

    It 'manifest declares Core edition, version, description and formats' {
        $m = Test-ModuleManifest (Join-Path $ModulePath 'HbOps.psd1')
        $m.CompatiblePSEditions | Should -Be @('Core')
        $m.Version | Should -Be ([version]'0.1.0')
        $m.Description | Should -Match 'PostgreSQL'
        $m.ExportedFormatFiles | Should -Not -BeNullOrEmpty
    }

    It 'takes its version from one place: the manifest''s ModuleVersion is every assembly''s version' {
        $version = (Import-PowerShellDataFile (Join-Path $ModulePath 'HbOps.psd1')).ModuleVersion
        foreach ($dll in 'HbOps.dll', 'HbOps.Model.dll', 'Dependencies/HbOps.Engine.dll', 'Dependencies/net10.0/HbOps.Engine.dll') {
            (Get-Item (Join-Path $ModulePath $dll)).VersionInfo.ProductVersion -replace '\+.*$', '' | Should -Be $version -Because $dll
        }
        $m = Test-ModuleManifest (Join-Path $ModulePath 'HbOps.psd1')
        $m.Author | Should -Not -BeNullOrEmpty
        $m.CompanyName | Should -Not -BeNullOrEmpty
        $m.Tags | Should -Contain 'PostgreSQL'
        $m.ReleaseNotes | Should -Match 'CHANGELOG'
        Join-Path $ModulePath 'LICENSE' | Should -Exist
        Get-Content -Raw (Join-Path $ModulePath 'LICENSE') | Should -Match 'MIT License'
        Get-Content -Raw (Join-Path $ModulePath 'CHANGELOG.md') | Should -Match ([regex]::Escape("## $version"))
    }

    It 'packs into a versioned .nupkg that installs from a local repository into a fresh module path and runs' {
        $version = (Import-PowerShellDataFile (Join-Path $ModulePath 'HbOps.psd1')).ModuleVersion
        $packages = Join-Path $TestDrive 'packages'
        $nupkg = & (Join-Path $PSScriptRoot '../../module/New-HbOpsPackage.ps1') -ModulePath $ModulePath -DestinationPath $packages
        Split-Path -Leaf $nupkg | Should -Be "HbOps.$version.nupkg"
        # A fresh HOME: an empty user module path and an empty PSResourceGet repository store.
        $freshHome = Join-Path $TestDrive 'fresh-home'
        New-Item -ItemType Directory $freshHome | Out-Null
        $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name hbops-test -Uri '$packages' -Trusted
Install-PSResource -Name HbOps -Repository hbops-test -Scope CurrentUser -Quiet
Import-Module HbOps
`$m = Get-Module HbOps
`$listed = @(Get-HbSandbox -SshHost '$($TestEnv.SshAlias)' -SshConfigPath '$($TestEnv.SshConfigPath)' -Name 'no-such-sandbox-*')
[pscustomobject]@{
    Base = `$m.ModuleBase; Version = "`$(`$m.Version)"; Listed = `$listed.Count
    Engine = ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'HbOps.Engine' }).Location
    Synopsis = (Get-Help Get-HbBackup).Synopsis
} | ConvertTo-Json -Compress
"@
        $saved = $env:HOME, $env:PSModulePath
        try {
            $env:HOME = $freshHome
            $env:PSModulePath = $null
            $out = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1
        }
        finally { $env:HOME, $env:PSModulePath = $saved }
        $LASTEXITCODE | Should -Be 0 -Because ($out | Out-String)
        $r = $out | Select-Object -Last 1 | ConvertFrom-Json
        $r.Base | Should -BeLike "$freshHome/*"
        $r.Version | Should -Be $version
        $r.Listed | Should -Be 0
        $r.Engine | Should -BeLike "$($r.Base)/Dependencies/*"
        $r.Synopsis | Should -Match 'manifests'
    }

    It 'ships the engine and third-party DLLs only in Dependencies/' {
        (Get-ChildItem $ModulePath -Filter *.dll).Name | Sort-Object | Should -Be @('HbOps.dll', 'HbOps.Model.dll')
        foreach ($dll in 'HbOps.Engine.dll', 'Renci.SshNet.dll', 'Docker.DotNet.dll', 'Npgsql.dll', 'YamlDotNet.dll') {
            Join-Path $ModulePath "Dependencies/$dll" | Should -Exist
        }
        Join-Path $ModulePath 'Dependencies/System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'ships a .NET 8 set and a precompiled .NET 10 set, and loads the .NET 10 set on .NET 10' {
        function Test-ReadyToRun([string] $path) {
            $stream = [IO.File]::OpenRead($path)
            try { ([System.Reflection.PortableExecutable.PEReader]::new($stream)).PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 }
            finally { $stream.Dispose() }
        }
        foreach ($dll in 'HbOps.Engine.dll', 'Renci.SshNet.dll', 'BouncyCastle.Cryptography.dll', 'Docker.DotNet.dll', 'Npgsql.dll', 'YamlDotNet.dll') {
            Test-ReadyToRun (Join-Path $ModulePath "Dependencies/net10.0/$dll") | Should -BeTrue -Because "$dll is precompiled for .NET 10"
            Test-ReadyToRun (Join-Path $ModulePath "Dependencies/$dll") | Should -BeFalse -Because "the .NET 8 $dll is plain IL (runs anywhere)"
        }
        [Environment]::Version.Major | Should -BeGreaterOrEqual 10
        $null = Get-HbBackup -Path $TestDrive -Local
        $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'HbOps.Engine' }
        $engine.Location | Should -Be (Join-Path $ModulePath 'Dependencies/net10.0/HbOps.Engine.dll' | Resolve-Path).Path
    }

    It 'returns as soon as the engine work ends (the message pump does not wait out its poll interval)' {
        # The pipeline thread pumps the engine's messages with a 100 ms wait; when the work ends it must wake at once.
        # Ten quick calls took over a second when each waited out the interval.
        $null = Get-HbBackup -Path $TestDrive -Local
        $sw = [Diagnostics.Stopwatch]::StartNew()
        foreach ($i in 1..10) { $null = Get-HbBackup -Path $TestDrive -Local }
        $sw.Elapsed.TotalMilliseconds | Should -BeLessThan 500
    }

    It 'loads its own YamlDotNet in a private load context even when another YamlDotNet is already loaded' {
        $older = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/yamldotnet/11.2.1/lib/netstandard2.1/YamlDotNet.dll'
        if ($env:NUGET_PACKAGES) { $older = Join-Path $env:NUGET_PACKAGES 'yamldotnet/11.2.1/lib/netstandard2.1/YamlDotNet.dll' }
        $older | Should -Exist
        $dest = Join-Path ([IO.Path]::GetTempPath()) ("hbops-alc-" + [guid]::NewGuid().ToString('N'))
        $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$older'
Import-Module '$(Join-Path $ModulePath 'HbOps.psd1')'
`$a = Invoke-HbBackup -SshHost '$($TestEnv.SshAlias)' -SshConfigPath '$($TestEnv.SshConfigPath)' -Container '$($TestEnv.Container)' -Database '$($TestEnv.Database)' -User '$($TestEnv.User)' -Destination '$dest' -Local -RowCounts Estimated -Tag alc
`$engine = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'HbOps.Engine'
[pscustomobject]@{
    SessionYaml = ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' -and [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_) -eq [System.Runtime.Loader.AssemblyLoadContext]::Default }).GetName().Version.Major
    EngineYaml = (`$engine.Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' }).GetName().Version.Major
    EngineSsh = @(`$engine.Assemblies | Where-Object { `$_.GetName().Name -eq 'Renci.SshNet' }).Count
    Manifest = Test-Path `$a.ManifestPath
} | ConvertTo-Json -Compress
"@
        $out = & $PwshPath -NoProfile -NonInteractive -Command $script
        $LASTEXITCODE | Should -Be 0
        $r = $out | Select-Object -Last 1 | ConvertFrom-Json
        $r.SessionYaml | Should -Be 11
        $r.EngineYaml | Should -Be 16
        $r.EngineSsh | Should -Be 1
        $r.Manifest | Should -BeTrue
        Remove-Item -Recurse -Force $dest -ErrorAction SilentlyContinue
    }

    It 'every computed column of the default views renders (no script block throws)' {
        # Format-Table swallows a script block's error and shows an empty cell; run each one directly instead, on a
        # default instance of its type, with strict mode on.
        $views = ([xml](Get-Content -Raw (Join-Path $ModulePath 'HbOps.Format.ps1xml'))).Configuration.ViewDefinitions.View
        $checked = 0
        foreach ($view in $views) {
            $type = [type]$view.ViewSelectedBy.TypeName
            $instance = [Activator]::CreateInstance($type)
            foreach ($block in $view.SelectNodes('.//ScriptBlock')) {
                $sb = [scriptblock]::Create("Set-StrictMode -Version Latest; `$_ = `$args[0]; $($block.InnerText)")
                { $null = & $sb $instance } | Should -Not -Throw -Because "$($type.Name): $($block.InnerText)"
                $checked++
            }
        }
        $checked | Should -BeGreaterThan 5
    }

    It 'state-changing cmdlets support -WhatIf and -Confirm' {
        foreach ($name in 'Invoke-HbBackup', 'Test-HbRestore', 'New-HbSandbox', 'Remove-HbSandbox', 'Export-HbClosureRecord', 'Copy-HbBackup', 'Remove-HbBackup') {
            $p = (Get-Command $name).Parameters.Keys
            $p | Should -Contain 'WhatIf' -Because $name
            $p | Should -Contain 'Confirm' -Because $name
        }
    }

    It 'long work shows Write-Progress (bytes streamed and rate)' {
        $job = Start-HbBackground { param($s, $p, $d) Invoke-HbBackup @s @p -Destination $d -Tag progress -RowCounts None } @($Ssh, $Prod, $TestEnv.BackupRoot)
        $job.PowerShell.EndInvoke($job.Handle) | Out-Null
        $progress = @($job.PowerShell.Streams.Progress | Where-Object Activity -eq 'Invoke-HbBackup')
        $job.PowerShell.Dispose()
        $progress | Where-Object StatusDescription -match 'MiB streamed at [0-9.]+ MiB/s' | Should -Not -BeNullOrEmpty
    }

    It 'has an about_HbOps topic: the workflow, the config file, the failure rule, round trips, the test environment' {
        $about = Get-Help about_HbOps | Out-String
        foreach ($section in 'THE WORKFLOW', 'THE CONFIG FILE', 'FAILURE SIGNALLING OF THE TEST-\* CMDLETS', 'OBJECTS AFTER A ROUND TRIP', 'WHAT A REAL SERVER NEEDS', 'THE TEST ENVIRONMENT') {
            $about | Should -Match $section
        }
        Join-Path $ModulePath 'en-US/about_HbOps.help.txt' | Should -Exist
    }

    Context 'Help examples' {
        BeforeAll {
            # The examples name the operator's world (alias contabo, /var/backups/hbops, target contabo-directus, ./closure.yml,
            # a kept sandbox in $r, the storage host's storage:/backups, an off-site mount); here that world is the test
            # environment: its ssh config for every command, a backup root and a storage folder of its own, a config file
            # whose targets (contabo-directus and two more) back up into it, and a working folder with ./backups and ./closure.yml.
            . (Join-Path $PSScriptRoot 'StorageSetup.ps1')
            function Remove-ExampleSandboxes {
                # Sandboxes an example kept (they mount an artefact of this backup root), except the shared $r.
                Get-HbSandbox @Ssh | Where-Object { ($_.Mounts -join ' ') -like "*$exRoot/*" -and (-not $exKept -or $_.Name -ne $exKept.Sandbox.Name) } |
                    Remove-HbSandbox -Confirm:$false | Out-Null
            }
            $id = [guid]::NewGuid().ToString('N').Substring(0, 8)
            $script:exRoot = Join-Path $TestEnv.BackupRoot "examples-$id"
            $script:exDir = Join-Path ([IO.Path]::GetTempPath()) "hbops-examples-$id"
            New-Item -ItemType Directory $exDir | Out-Null
            $script:exStorage = New-HbStorageFolder 'examples'
            $script:exConfig = Join-Path $exDir 'hbops.yml'
            @"
targets:
  contabo-directus:
    sshHost: $($TestEnv.SshAlias)
    sshConfigPath: $($TestEnv.SshConfigPath)
    container: $($TestEnv.Container)
    database: $($TestEnv.Database)
    user: $($TestEnv.User)
    backupRoot: $exRoot
    tag: hb08
  contabo-directus17:
    sshHost: $($TestEnv.SshAlias)
    sshConfigPath: $($TestEnv.SshConfigPath)
    container: $($TestEnv.Container17)
    database: $($TestEnv.Database)
    user: $($TestEnv.User)
    backupRoot: $exRoot
    tag: hb08-17
  jump-shop:
    sshHost: $($TestEnv.JumpAlias)
    sshConfigPath: $($TestEnv.SshConfigPath)
    container: $($TestEnv.ContainerShop)
    database: $($TestEnv.DatabaseShop)
    user: $($TestEnv.DatabaseShop)
    backupRoot: $exRoot
    tag: shop
"@ | Set-Content $exConfig
            $script:savedDefaults = $global:PSDefaultParameterValues.Clone()
            $script:savedConfig = $env:HBOPS_CONFIG
            $env:HBOPS_CONFIG = $exConfig
            $global:PSDefaultParameterValues['*-Hb*:SshConfigPath'] = $TestEnv.SshConfigPath
            $global:PSDefaultParameterValues['Invoke-HbBackup:Destination'] = $exRoot
            $script:exArtefact = Invoke-HbBackup @Ssh @Prod -Destination $exRoot -Tag hb08
            $script:exKept = $exArtefact | Test-HbRestore -KeepSandbox
            Push-Location $exDir
            Invoke-HbBackup @Ssh @Prod -Local -Destination ./backups -Tag local -RowCounts None | Out-Null
            $exArtefact, $exKept | Export-HbClosureRecord -Path ./closure.yml | Out-Null
        }

        AfterAll {
            if ((Get-Location).Path -eq $exDir) { Pop-Location }
            $global:PSDefaultParameterValues = $savedDefaults
            $env:HBOPS_CONFIG = $savedConfig
            Remove-ExampleSandboxes
            if ($exKept) { $exKept | Remove-HbSandbox -Confirm:$false | Out-Null }
            Remove-Item -Recurse -Force $exDir -ErrorAction SilentlyContinue
            Remove-HbStorageFolder $exStorage
        }

        It '<Command> example <Index> runs' -ForEach $Examples {
            $root, $storage = $exRoot, "storage:$exStorage"
            if ($Command -eq 'Test-HbPreflight' -and $Code -match '-CopyPath') {
                # The copy and retention checks describe a root whose newest backup was restore-tested and copied off the
                # host, with nothing the retention rules would remove: a root of its own with one such backup.
                $root, $storage = (Join-Path $exRoot 'copied'), "storage:$exStorage/copied"
                $fresh = Invoke-HbBackup @Ssh @Prod -Destination $root -Tag copied -RowCounts None
                $fresh | Test-HbRestore | Out-Null
                $fresh | Copy-HbBackup -Destination $storage | Out-Null
            }
            elseif ($Command -eq 'Test-HbPreflight') {
                # Preflight examples describe a healthy backup root: its newest backup restore-tested.
                Get-HbBackup @Ssh -Path $exRoot | Select-Object -Last 1 | Test-HbRestore | Out-Null
            }
            $code = $Code.Replace('/var/backups/hbops/hb08_2026-05-15/directus_full_20260515T010203Z.dump', $exArtefact.Path).
                Replace('/var/backups/hbops', $root).Replace('pg-restore-test-hb08-20260515', $exKept.Sandbox.Name).
                Replace('storage:/backups', $storage).Replace('-StorageHost storage -Destination nightly', "-StorageHost storage -Destination $exStorage/nightly").
                Replace('/mnt/offsite/hbops', (Join-Path $exDir 'offsite'))
            $r = $exKept
            $example = [scriptblock]::Create($code)
            try {
                # Any error, terminating or not, fails the example ($ErrorActionPreference is Stop); output is formatted.
                { & $example | Out-String -Width 200 | Out-Null } | Should -Not -Throw -Because $code
            }
            finally { Remove-ExampleSandboxes }
        }
    }

    It 'help shows every parameter set''s syntax with readable types, defaults, pipeline input and Required' {
        foreach ($name in $Cmdlets) {
            $cmd = Get-Command $name
            $help = Get-Help $name -Full
            @($help.Syntax.SyntaxItem).Count | Should -Be @($cmd.ParameterSets).Count -Because "$name has $(@($cmd.ParameterSets).Count) parameter sets"
            $text = $help | Out-String -Width 300
            $text | Should -Not -Match 'Nullable|`1|System\.(Int|String|Double|Boolean|TimeSpan)' -Because "$name shows readable types"
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters
            foreach ($p in $cmd.Parameters.Values | Where-Object Name -notin $common) {
                $ph = $help.Parameters.Parameter | Where-Object Name -eq $p.Name
                $ph | Should -Not -BeNullOrEmpty -Because "$name -$($p.Name) is documented"
                $attrs = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
                $kinds = @(); if ($attrs.ValueFromPipeline -contains $true) { $kinds += 'ByValue' }; if ($attrs.ValueFromPipelineByPropertyName -contains $true) { $kinds += 'ByPropertyName' }
                $ph.PipelineInput | Should -Be $(if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }) -Because "$name -$($p.Name) pipeline input"
                $ph.Required | Should -Be "$($attrs.Mandatory -contains $true)".ToLowerInvariant() -Because "$name -$($p.Name) Required"
                if (@($attrs.Mandatory | Sort-Object -Unique).Count -gt 1) {
                    ($ph.Description | Out-String) | Should -Match 'Required in parameter set' -Because "$name -$($p.Name) is mandatory in some sets only"
                }
            }
        }
        (Get-Help Invoke-HbBackup -Parameter Container).DefaultValue | Should -Be 'postgres'
        (Get-Help Test-HbRestore -Parameter Jobs).DefaultValue | Should -Be '2'
        (Get-Help Test-HbPreflight -Parameter MaxBackupAge).DefaultValue | Should -Be '01:00:00'
        (Get-Help Compare-HbRowCounts -Parameter Port).Type.Name | Should -Be 'int'
        (Get-Help Test-HbRestore -Parameter Path).Aliases | Should -Be 'FullName'
        (Get-Help Get-HbSandbox -Parameter Name).Globbing | Should -Be 'true'
        ((Get-Help Get-HbBackup).Syntax | Out-String -Width 300) | Should -Match ([regex]::Escape('Get-HbBackup [[-Path] <string>] -Target <string>'))
        ((Get-Help Compare-HbRowCounts).Syntax | Out-String -Width 300) | Should -Match ([regex]::Escape('[-Mode {Exact | Estimated}]'))
    }

    Context '<_>' -ForEach $Cmdlets {
        It 'has full help: synopsis, description, every parameter described, two examples' {
            $h = Get-Help $_ -Full
            $h.Synopsis | Should -Not -BeNullOrEmpty
            $h.Synopsis | Should -Not -Match "^\s*$_"
            ($h.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
            @($h.Examples.Example).Count | Should -BeGreaterOrEqual 2
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            foreach ($p in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
                $ph = $h.Parameters.Parameter | Where-Object Name -eq $p
                ($ph.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
            }
        }

        It 'has its own Pester file with a parameter-validation context' {
            Join-Path $PSScriptRoot "$_.Tests.ps1" | Should -Exist
            Get-Content -Raw (Join-Path $PSScriptRoot "$_.Tests.ps1") | Should -Match "Context 'Parameter validation'"
        }

        It 'declares output types that have a default table view' {
            $types = (Get-Command $_).OutputType.Type
            $types | Should -Not -BeNullOrEmpty
            foreach ($t in $types) {
                Get-FormatData -TypeName $t.FullName | Should -Not -BeNullOrEmpty -Because "$($t.FullName) needs a view"
            }
        }
    }
}
