<#
.SYNOPSIS
    Runbook: backup -> restore test -> row-count comparison -> teardown -> closure record, for one config target.
.DESCRIPTION
    Suitable for a scheduler or CI job: exits 0 only when every acceptance criterion in the closure record passed.
    Supports -WhatIf (nothing is backed up, created or written).
.EXAMPLE
    ./Invoke-HbRunbook.ps1 -Target contabo-directus -RecordPath /var/backups/hbops/records/closure.yml
.EXAMPLE
    ./Invoke-HbRunbook.ps1 -Target contabo-directus -RecordPath ./closure.yml -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $Target,
    [string] $ConfigPath,
    [Parameter(Mandatory)] [string] $RecordPath,
    [hashtable[]] $Assertion = @(),
    [string] $Title = "HbOps runbook for $Target",
    [string] $ModulePath
)
$ErrorActionPreference = 'Stop'
if ($ModulePath) { Import-Module (Join-Path $ModulePath 'HbOps.psd1') -Force } else { Import-Module HbOps }
$cfg = @{ Target = $Target }
if ($ConfigPath) { $cfg.ConfigPath = $ConfigPath }

$artefact = Invoke-HbBackup @cfg
if (-not $artefact) { Write-Host 'No backup made (-WhatIf).'; return }
$restore = $artefact | Test-HbRestore -KeepSandbox -Assertion $Assertion
$comparison = @()
$removal = @()
try {
    if ($restore) { $comparison = @($restore | Compare-HbRowCounts) }
}
finally {
    if ($restore) { $removal = @($restore | Remove-HbSandbox -Confirm:$false) }
}
$record = @($artefact) + @($restore) + $comparison + $removal | Where-Object { $_ } | Export-HbClosureRecord -Path $RecordPath -Title $Title
if ($record) {
    $record.Acceptance | Format-Table Status, Criterion, Evidence -Wrap | Out-Host
    Write-Host "Closure record: $($record.Path) (accepted: $($record.Accepted))"
    if (-not $record.Accepted) { exit 1 }
}
