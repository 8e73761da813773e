<#
    HbOps preflight checks as a Pester suite. Run as-is:

        Invoke-Pester ./Preflight.Tests.ps1

    Configure with environment variables (or a Pester container's -Data):
        HBOPS_SSH_HOST        ssh alias of the docker host (empty: this machine)
        HBOPS_SSH_CONFIG      ssh config file (default ~/.ssh/config)
        HBOPS_BACKUP_ROOT     backup root (default /var/backups/hbops)
        HBOPS_MAX_BACKUP_AGE  maximum age of the latest backup, e.g. 01:00:00 (default 60 minutes)
        HBOPS_MIN_BACKUPS     minimum retained backups (default 1)
        HBOPS_COPY_PATH       where Copy-HbBackup puts off-host copies, e.g. storage:/backups (empty: no copy checks)
        HBOPS_MAX_COPY_AGE    maximum age in minutes of the backup the newest copy holds (default 60)
        HBOPS_MAX_RESTORE_MINUTES  restore-time objective: the latest restore test must have been at most this long (default: not checked)
        HBOPS_REQUIRE_AMCHECK      1: the latest restore test must have run pg_amcheck and found nothing
        HBOPS_MODULE_PATH     folder of the HbOps module, if it is not on PSModulePath
#>
param(
    [string] $SshHost = $env:HBOPS_SSH_HOST,
    [string] $SshConfigPath = $env:HBOPS_SSH_CONFIG,
    [string] $BackupRoot = $(if ($env:HBOPS_BACKUP_ROOT) { $env:HBOPS_BACKUP_ROOT } else { '/var/backups/hbops' }),
    [timespan] $MaxBackupAge = $(if ($env:HBOPS_MAX_BACKUP_AGE) { [timespan]$env:HBOPS_MAX_BACKUP_AGE } else { [timespan]::FromMinutes(60) }),
    [int] $MinimumBackups = $(if ($env:HBOPS_MIN_BACKUPS) { [int]$env:HBOPS_MIN_BACKUPS } else { 1 }),
    [string] $CopyPath = $env:HBOPS_COPY_PATH,
    [int] $MaxCopyAgeMinutes = $(if ($env:HBOPS_MAX_COPY_AGE) { [int]$env:HBOPS_MAX_COPY_AGE } else { 60 }),
    [double] $MaxRestoreMinutes = $(if ($env:HBOPS_MAX_RESTORE_MINUTES) { [double]::Parse($env:HBOPS_MAX_RESTORE_MINUTES, [cultureinfo]::InvariantCulture) } else { 0 }),
    [bool] $RequireAmcheck = ($env:HBOPS_REQUIRE_AMCHECK -eq '1')
)

BeforeDiscovery {
    if ($env:HBOPS_MODULE_PATH) { Import-Module (Join-Path $env:HBOPS_MODULE_PATH 'HbOps.psd1') -Force } else { Import-Module HbOps }
    $target = @{ Path = $BackupRoot; MaxBackupAge = $MaxBackupAge; MinimumBackups = $MinimumBackups }
    if ($SshHost) { $target.SshHost = $SshHost }
    if ($SshConfigPath) { $target.SshConfigPath = $SshConfigPath }
    if ($CopyPath) { $target.CopyPath = $CopyPath; $target.MaxCopyAgeMinutes = $MaxCopyAgeMinutes }
    if ($MaxRestoreMinutes -gt 0) { $target.MaxRestoreMinutes = $MaxRestoreMinutes }
    if ($RequireAmcheck) { $target.RequireAmcheck = $true }
    # A failed check is also a PreflightFailed error (the Test-* rule); here each one becomes a failed test instead.
    # Any other error means the checks could not be evaluated at all: that stops the suite.
    $preflight = Test-HbPreflight @target -ErrorAction SilentlyContinue -ErrorVariable preflightErrors
    $preflightErrors | Where-Object FullyQualifiedErrorId -NotLike 'PreflightFailed,*' | ForEach-Object { throw $_ }
    $script:Checks = @($preflight | ForEach-Object {
        @{ Name = $_.Name; Passed = $_.Passed; Observed = $_.Observed; Expected = $_.Expected; Message = $_.Message }
    })
}

Describe "HbOps preflight of $BackupRoot" {
    It '<Name>' -ForEach $Checks {
        $Passed | Should -BeTrue -Because "$Message (observed: $Observed; expected: $Expected)"
    }
}
