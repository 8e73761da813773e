<#
.SYNOPSIS
    Packs a built HbOps module folder into HbOps.<version>.nupkg with PSResourceGet's Compress-PSResource, after checking
    that the folder is complete (manifest valid, every file it names present, license and changelog beside it).
    Returns the package's path. Used by build.ps1 -Task Package and by the Pester test that installs the package.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DestinationPath
)
$ErrorActionPreference = 'Stop'
$manifestPath = Join-Path $ModulePath 'HbOps.psd1'
$manifest = Test-ModuleManifest $manifestPath
$data = Import-PowerShellDataFile $manifestPath
$required = @($data.RootModule) + @($data.RequiredAssemblies) + @($data.FormatsToProcess) + @($data.TypesToProcess) +
    @('LICENSE', 'CHANGELOG.md', 'en-US/HbOps.dll-Help.xml', 'en-US/about_HbOps.help.txt', 'Dependencies/HbOps.Engine.dll')
foreach ($f in $required) {
    if (-not (Test-Path (Join-Path $ModulePath $f))) { throw "The module folder $ModulePath lacks $f; build it first (build.ps1 -Task Build)." }
}
New-Item -ItemType Directory -Force -Path $DestinationPath | Out-Null
$nupkg = Join-Path $DestinationPath "HbOps.$($manifest.Version).nupkg"
Remove-Item $nupkg -ErrorAction SilentlyContinue
Import-Module Microsoft.PowerShell.PSResourceGet
Compress-PSResource -Path $ModulePath -DestinationPath $DestinationPath
if (-not (Test-Path $nupkg)) { throw "Compress-PSResource did not write $nupkg." }
$nupkg
