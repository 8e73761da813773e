<#
.SYNOPSIS
    The whole HbOps job once, end to end: backup through an SSH alias, restore test in an isolated sandbox,
    production vs sandbox row counts, verified teardown. Prints the real result objects.
.EXAMPLE
    ./Demo.ps1 -ModulePath ../../out/HbOps -SshHost contabo -SshConfigPath ~/.ssh/config -Database directus -User directus
#>
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/HbOps'),
    [Parameter(Mandatory)] [string] $SshHost,
    [string] $SshConfigPath,
    [string] $Container = 'postgres',
    [Parameter(Mandatory)] [string] $Database,
    [string] $User = 'postgres',
    [string] $Destination = '/var/backups/hbops',
    [string] $Tag = 'demo'
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'HbOps.psd1') -Force
$ssh = @{ SshHost = $SshHost }
if ($SshConfigPath) { $ssh.SshConfigPath = $SshConfigPath }

Write-Host "== 1. Backup: docker exec $Container pg_dump -F c -Z 6 on $SshHost ==" -ForegroundColor Cyan
$artefact = Invoke-HbBackup @ssh -Container $Container -Database $Database -User $User -Destination $Destination -Tag $Tag
$artefact | Format-Table | Out-Host
$artefact | Format-List Path, SizeBytes, Sha256, ChecksumPath, ManifestPath, ServerVersion, PgDumpVersion, DumpCommand, DatabaseSizeBytes, FreeDiskBytesBefore, DurationSeconds | Out-Host

Write-Host '== 2. Restore test in an isolated sandbox (kept for the comparison) ==' -ForegroundColor Cyan
# A Failed verdict is also a RestoreTestFailed error; the demo still compares and tears down, then reports FAILED.
$restore = $artefact | Test-HbRestore -KeepSandbox -ErrorAction SilentlyContinue -ErrorVariable restoreErrors -Assertion @{
    Name     = 'dot_tools 991/992 pairing'
    Sql      = 'SELECT count(*) FROM dot_tools WHERE (id = 991 AND paired_with = 992) OR (id = 992 AND paired_with = 991)'
    Expected = '2'
}
$restoreErrors | Where-Object FullyQualifiedErrorId -NotLike 'RestoreTestFailed,*' | ForEach-Object { throw $_ }
$restore | Format-Table | Out-Host
$restore.Messages | Format-Table Severity, Rule, Text -Wrap | Out-Host
$restore.Sandbox | Format-List Name, VolumeName, Image, NetworkMode, PublishedPorts, Mounts, IsolationVerified | Out-Host
$restore.Phases | Format-Table | Out-Host

Write-Host '== 3. Row counts: production (read-only) vs sandbox ==' -ForegroundColor Cyan
$comparison = $restore | Compare-HbRowCounts
$comparison | Format-Table | Out-Host
$mismatches = @($comparison | Where-Object { -not $_.Match })
Write-Host ("{0} tables compared, {1} mismatches" -f @($comparison).Count, $mismatches.Count)

Write-Host '== 4. Teardown ==' -ForegroundColor Cyan
$removal = $restore | Remove-HbSandbox -Confirm:$false
$removal | Format-Table | Out-Host

$ok = "$($restore.Result)" -ne 'Failed' -and $mismatches.Count -eq 0 -and $removal.Verified
Write-Host ("Result: {0}" -f $(if ($ok) { "OK ($($restore.Result))" } else { 'FAILED' })) -ForegroundColor $(if ($ok) { 'Green' } else { 'Red' })
if (-not $ok) { exit 1 }
