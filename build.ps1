<#
.SYNOPSIS
    Single entry point for building, testing and demonstrating HbOps.

.DESCRIPTION
    Tasks:
      Build  Publishes the module to out/HbOps: manifest, HbOps.dll, HbOps.Format.ps1xml, en-US help,
             and Dependencies/ (engine and third-party DLLs, loaded into a private AssemblyLoadContext):
             .NET 8 IL for PowerShell 7.4/7.5, and in Dependencies/net10.0 the same set compiled for .NET 10
             with ReadyToRun code for this machine's platform (PowerShell 7.6+ starts them without JIT).
      Env    Starts the local test environment (dockerd without bridge, postgres:15 image, loopback sshd
             with the 'contabo' alias, production-like container). Needs root on Debian.
      Test   Build + Env, then xunit (unit and integration) and Pester (on the built module, in a fresh
             pwsh). Ends with one line 'N passed, N failed'; exits non-zero on any failure.
      Demo   Build + Env, then the whole job through the SSH alias: backup, restore test, row-count
             comparison, teardown; prints the real result objects.
      Bench  Build + Env, then the side-by-side benchmarks in tests/bench.
      Package
             Build, then out/packages/HbOps.<version>.nupkg (PSResourceGet's Compress-PSResource; the version is
             HbOps.psd1's ModuleVersion). Install it with Register-PSResourceRepository -Uri out/packages and
             Install-PSResource HbOps.

.EXAMPLE
    dotnet tool restore; dotnet pwsh -NoProfile -File build.ps1 -Task Demo

.EXAMPLE
    dotnet pwsh -NoProfile -File build.ps1 -Task Test

.EXAMPLE
    dotnet pwsh -NoProfile -File build.ps1 -Task Package
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Env', 'Test', 'Demo', 'Bench', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'HbOps'
$PesterVersion = '5.7.1'

# The exact set of assemblies that must ship in Dependencies/ (the private load context); the build
# fails if one is missing. HbOps.dll and HbOps.Model.dll (no dependencies) sit beside the manifest.
$DependencyAssemblies = @(
    'HbOps.Engine.dll'
    'Renci.SshNet.dll'
    'BouncyCastle.Cryptography.dll'
    'Docker.DotNet.dll'
    'Docker.DotNet.Handler.Abstractions.dll'
    'Docker.DotNet.LegacyHttp.dll'
    'Docker.DotNet.NativeHttp.dll'
    'Docker.DotNet.NPipe.dll'
    'Docker.DotNet.Unix.dll'
    'Microsoft.Net.Http.Client.dll'
    'Microsoft.Extensions.Logging.Abstractions.dll'
    'Microsoft.Extensions.DependencyInjection.Abstractions.dll'
    'System.IO.Pipelines.dll'
    'System.Diagnostics.DiagnosticSource.dll'
    'Npgsql.dll'
    'YamlDotNet.dll'
)
# Part of the .NET 10 shared framework: not shipped in Dependencies/net10.0.
$InBoxOnNet10 = @('System.IO.Pipelines.dll', 'System.Diagnostics.DiagnosticSource.dll')

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') exited $LASTEXITCODE" }
}

function Get-NuGetRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
}

# shellcheck over the POSIX sh HbOps runs on docker hosts (src/HbOps.Engine/Scripts/*.sh, embedded resources: every
# finding fails the build) and the bash of the test environment and CI (warnings and errors fail it). shellcheck is a
# Debian package (.ci/run and tests/env/up.sh install it); without it the build warns, unless HBOPS_REQUIRE_SHELLCHECK=1.
function Test-ShellScripts {
    if (-not (Get-Command shellcheck -ErrorAction SilentlyContinue)) {
        if ($env:HBOPS_REQUIRE_SHELLCHECK -eq '1') { throw 'shellcheck is required (apt-get install shellcheck).' }
        Write-Warning 'shellcheck not found (apt-get install shellcheck): the host scripts were not checked.'
        return
    }
    $hostScripts = @(Get-ChildItem (Join-Path $Root 'src/HbOps.Engine/Scripts') -Filter *.sh).FullName
    Invoke-Native shellcheck (@('--shell=sh', '--severity=style') + $hostScripts)
    # common.sh is sourced: its variables are used by the scripts that source it (SC2034 does not see that).
    $envScripts = @(Get-ChildItem (Join-Path $Root 'tests/env') -Filter *.sh).FullName + (Join-Path $Root '.ci/run')
    Push-Location (Join-Path $Root 'tests/env')
    try { Invoke-Native shellcheck (@('--severity=warning', '--external-sources', '--exclude=SC2034') + $envScripts) }
    finally { Pop-Location }
    Write-Host "shellcheck: $($hostScripts.Count) host scripts and $($envScripts.Count) environment scripts clean."
}

function Invoke-Build {
    Test-ShellScripts
    $project = Join-Path $Root 'src/HbOps/HbOps.csproj'
    $publish = Join-Path $Out 'publish'
    $publish10 = Join-Path $Out 'publish-net10.0'
    Remove-Item -Recurse -Force $publish, $publish10, $ModuleOut -ErrorAction SilentlyContinue
    Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-f', 'net8.0', '-o', $publish, '--nologo', '-v', 'q')
    # The same closure for .NET 10, precompiled (ReadyToRun) for this platform: thousands of methods fewer to JIT at
    # every start (SSH key exchange, Engine API JSON, YAML). On another platform the IL inside is used as is.
    $rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-f', 'net10.0', '-r', $rid, '--self-contained', 'false',
        '-p:PublishReadyToRun=true', '-o', $publish10, '--nologo', '-v', 'q')
    $deps = Join-Path $ModuleOut 'Dependencies'
    $deps10 = Join-Path $deps 'net10.0'
    New-Item -ItemType Directory -Force -Path $deps, $deps10 | Out-Null
    foreach ($dll in $DependencyAssemblies) {
        $src = Join-Path $publish $dll
        if (-not (Test-Path $src)) { throw "Build output is missing $dll; the module would not load." }
        Copy-Item $src $deps
        $src10 = Join-Path $publish10 $dll
        if (Test-Path $src10) { Copy-Item $src10 $deps10 }
        elseif ($dll -notin $InBoxOnNet10) { throw "The .NET 10 build output is missing $dll." }
    }
    $moduleAssemblies = @('HbOps.dll', 'HbOps.Model.dll')
    foreach ($dir in $publish, $publish10) {
        $extra = Get-ChildItem $dir -Filter *.dll | Where-Object { $_.Name -notin $DependencyAssemblies -and $_.Name -notin $moduleAssemblies }
        if ($extra) { throw "Unexpected assemblies in the publish output $dir (add them to the list or remove the reference): $($extra.Name -join ', ')" }
    }
    foreach ($dll in $moduleAssemblies) { Copy-Item (Join-Path $publish $dll) $ModuleOut }
    Copy-Item (Join-Path $Root 'HbOps.psd1') $ModuleOut
    Copy-Item (Join-Path $Root 'module/HbOps.Format.ps1xml') $ModuleOut
    Copy-Item (Join-Path $Root 'module/HbOps.Types.ps1xml') $ModuleOut
    Copy-Item (Join-Path $Root 'LICENSE'), (Join-Path $Root 'CHANGELOG.md') $ModuleOut
    $helpDir = Join-Path $ModuleOut 'en-US'
    New-Item -ItemType Directory -Force -Path $helpDir | Out-Null
    Copy-Item (Join-Path $Root 'module/en-US/about_HbOps.help.txt') $helpDir
    & (Join-Path $Root 'module/New-HbOpsHelp.ps1') -DocXml (Join-Path $publish 'HbOps.xml') -ModuleDll (Join-Path $ModuleOut 'HbOps.dll') -OutFile (Join-Path $helpDir 'HbOps.dll-Help.xml')
    Write-Host "Module built: $ModuleOut"
}

function Invoke-Env {
    Invoke-Native bash @((Join-Path $Root 'tests/env/up.sh'))
}

function Get-EnvInfo {
    $dir = if ($env:HBOPS_ENV_DIR) { $env:HBOPS_ENV_DIR } else { '/tmp/hbops-testenv' }
    Get-Content -Raw (Join-Path $dir 'env.json') | ConvertFrom-Json
}

function Invoke-XunitProject {
    param([string] $Project, [string] $Name)
    $results = Join-Path $Out "test-results/$Name"
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    & dotnet test (Join-Path $Root $Project) -c $Configuration --nologo --logger "trx;LogFileName=$Name.trx" --logger 'console;verbosity=normal' --results-directory $results | Out-Host
    $trx = Get-ChildItem $results -Filter *.trx -Recurse | Select-Object -First 1
    if (-not $trx) { return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 } }
    $c = ([xml](Get-Content -Raw $trx.FullName)).TestRun.ResultSummary.Counters
    $failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
    if ([int]$c.total -eq 0 -or ($LASTEXITCODE -ne 0 -and $failed -eq 0)) { $failed++ }
    [pscustomobject]@{ Passed = [int]$c.passed; Failed = $failed; Skipped = [int]$c.notExecuted }
}

function Invoke-PesterSuite {
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/tools/PesterModule/PesterModule.csproj'), '--nologo', '-v', 'q')
    $pester = Join-Path (Get-NuGetRoot) "pester/$PesterVersion/tools/Pester.psd1"
    $summary = Join-Path $Out 'test-results/pester.json'
    New-Item -ItemType Directory -Force -Path (Split-Path $summary) | Out-Null
    Remove-Item $summary -ErrorAction SilentlyContinue
    # A fresh pwsh: the suite imports the built module exactly as an operator would.
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester'
`$env:HBOPS_MODULE_PATH = '$ModuleOut'
`$env:HBOPS_PESTER_PATH = '$pester'
`$c = New-PesterConfiguration
`$c.Run.Path = '$(Join-Path $Root 'tests/Pester')'
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
[pscustomobject]@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$r.SkippedCount } |
    ConvertTo-Json | Set-Content '$summary'
"@
    & (Join-Path $PSHOME pwsh) -NoProfile -NonInteractive -Command $script | Out-Host
    if (-not (Test-Path $summary)) { return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 } }
    Get-Content -Raw $summary | ConvertFrom-Json
}

function Invoke-Test {
    # The environment first: it installs shellcheck, which the test build requires.
    Invoke-Env
    $env:HBOPS_REQUIRE_SHELLCHECK = '1'
    Invoke-Build
    # Each run starts from an empty backup root of the test environment (its own folder, nothing else).
    $backupRoot = (Get-EnvInfo).BackupRoot
    Get-ChildItem $backupRoot -ErrorAction SilentlyContinue | Remove-Item -Recurse -Force
    $unit = Invoke-XunitProject 'tests/HbOps.Engine.Tests/HbOps.Engine.Tests.csproj' 'unit'
    $integration = Invoke-XunitProject 'tests/HbOps.Integration.Tests/HbOps.Integration.Tests.csproj' 'integration'
    $pester = Invoke-PesterSuite
    $all = @($unit, $integration, $pester)
    $passed = ($all | Measure-Object -Property Passed -Sum).Sum
    $failed = ($all | Measure-Object -Property Failed -Sum).Sum
    $skipped = ($all | Measure-Object -Property Skipped -Sum).Sum
    Write-Host ("xunit unit: {0} passed, {1} failed; xunit integration: {2} passed, {3} failed; pester: {4} passed, {5} failed" -f `
        $unit.Passed, $unit.Failed, $integration.Passed, $integration.Failed, $pester.Passed, $pester.Failed)
    $line = "$passed passed, $failed failed" + $(if ($skipped) { ", $skipped skipped" } else { '' })
    Set-Content -Path (Join-Path $Out 'test-summary.txt') -Value $line
    Write-Host $line
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    Invoke-Env
    $envInfo = Get-EnvInfo
    & (Join-Path $PSHOME pwsh) -NoProfile -File (Join-Path $Root 'module/examples/Demo.ps1') -ModulePath $ModuleOut `
        -SshHost $envInfo.SshAlias -SshConfigPath $envInfo.SshConfigPath -Container $envInfo.Container `
        -Database $envInfo.Database -User $envInfo.User -Destination $envInfo.BackupRoot
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Bench {
    Invoke-Build
    Invoke-Env
    & (Join-Path $PSHOME pwsh) -NoProfile -File (Join-Path $Root 'tests/bench/Bench.ps1') -ModulePath $ModuleOut
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Package {
    Invoke-Build
    $nupkg = & (Join-Path $Root 'module/New-HbOpsPackage.ps1') -ModulePath $ModuleOut -DestinationPath (Join-Path $Out 'packages')
    Write-Host ("Package built: {0} ({1:N1} MB)" -f $nupkg, ((Get-Item $nupkg).Length / 1MB))
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Env' { Invoke-Env }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
}
