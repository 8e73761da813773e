<#
.SYNOPSIS
    Runbook: backup -> restore test (row counts, content fingerprints, catalog, optionally pg_amcheck) -> row-count
    comparison -> teardown -> closure record, for one config target.
.DESCRIPTION
    Suitable for a scheduler or CI job: exits 0 only when every acceptance criterion in the closure record passed.
    Supports -WhatIf (nothing is backed up, created or written).
.EXAMPLE
    ./Invoke-HbRunbook.ps1 -Target contabo-directus -RecordPath /var/backups/hbops/records/closure.yml
.EXAMPLE
    ./Invoke-HbRunbook.ps1 -Target contabo-directus -RecordPath ./closure.yml -WhatIf
.EXAMPLE
    pwsh -NoProfile -File ./Invoke-HbRunbook.ps1 -Target contabo-directus -RecordPath ./closure.yml -AssertionFile ./assertions.psd1

    For schedulers (cron, systemd) that start pwsh with -File, where a hashtable cannot be passed: assertions.psd1 holds
    @{ Assertions = @( @{ Name = 'users exist'; Sql = 'SELECT count(*) > 0 FROM directus_users'; Expected = 't' } ) }
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $Target,
    [string] $ConfigPath,
    [Parameter(Mandatory)] [string] $RecordPath,
    [hashtable[]] $Assertion = @(),
    # A .psd1 file with @{ Assertions = @( @{ Name = ...; Sql = ...; Expected = ... } ) }, added to -Assertion.
    [string] $AssertionFile,
    [string] $Title = "HbOps runbook for $Target",
    # Also run pg_amcheck on the restored copy (its acceptance criterion then appears in the record).
    [switch] $Amcheck,
    [string] $ModulePath
)
$ErrorActionPreference = 'Stop'
if ($ModulePath) { Import-Module (Join-Path $ModulePath 'HbOps.psd1') -Force } else { Import-Module HbOps }
if ($AssertionFile) { $Assertion = @($Assertion) + @((Import-PowerShellDataFile -Path $AssertionFile).Assertions) }
$cfg = @{ Target = $Target }
if ($ConfigPath) { $cfg.ConfigPath = $ConfigPath }

$artefact = Invoke-HbBackup @cfg
if (-not $artefact) { Write-Host 'No backup made (-WhatIf).'; return }
# A Failed verdict is also a RestoreTestFailed error (the Test-* rule): here it is evidence for the record, which then
# is not accepted (exit 1). Any other error means the test could not run at all, and stops the runbook.
$restore = $artefact | Test-HbRestore -KeepSandbox -Assertion $Assertion -Amcheck:$Amcheck -ErrorAction SilentlyContinue -ErrorVariable restoreErrors
$restoreErrors | Where-Object FullyQualifiedErrorId -NotLike 'RestoreTestFailed,*' | ForEach-Object { throw $_ }
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
