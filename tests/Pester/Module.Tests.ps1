BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:Cmdlets = @(Get-Command -Module HbOps | ForEach-Object Name)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
}

Describe 'HbOps module' {
    It 'exports exactly the documented cmdlets, including the four named by the user' {
        $names = (Get-Command -Module HbOps).Name | Sort-Object
        $names | Should -Be @('Compare-HbRowCounts', 'Export-HbClosureRecord', 'Get-HbBackup', 'Get-HbSandbox', 'Import-HbClosureRecord', 'Invoke-HbBackup', 'New-HbSandbox', 'Remove-HbSandbox', 'Test-HbBackup', 'Test-HbPreflight', 'Test-HbRestore')
    }

    It 'manifest declares Core edition, version, description and formats' {
        $m = Test-ModuleManifest (Join-Path $ModulePath 'HbOps.psd1')
        $m.CompatiblePSEditions | Should -Be @('Core')
        $m.Version | Should -Be ([version]'0.1.0')
        $m.Description | Should -Match 'PostgreSQL'
        $m.ExportedFormatFiles | Should -Not -BeNullOrEmpty
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

    It 'state-changing cmdlets support -WhatIf and -Confirm' {
        foreach ($name in 'Invoke-HbBackup', 'Test-HbRestore', 'New-HbSandbox', 'Remove-HbSandbox', 'Export-HbClosureRecord') {
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
