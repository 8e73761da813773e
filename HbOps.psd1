@{
    RootModule           = 'HbOps.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f6c1e-8f2d-4d0a-9a57-2f3f1e6c9b41'
    Author               = 'HbOps contributors'
    CompanyName          = 'HbOps'
    Copyright            = '(c) HbOps contributors. MIT License (LICENSE in the module folder).'
    Description          = 'Back up PostgreSQL running in Docker on a remote host over SSH, prove the backup restores in an isolated throwaway container, compare row counts, tear the sandbox down, and keep evidence an auditor can trust.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    RequiredAssemblies   = @('HbOps.Model.dll')
    FormatsToProcess     = @('HbOps.Format.ps1xml')
    TypesToProcess       = @('HbOps.Types.ps1xml')
    CmdletsToExport      = @(
        'Invoke-HbBackup'
        'Test-HbRestore'
        'Compare-HbRowCounts'
        'Remove-HbSandbox'
        'New-HbSandbox'
        'Get-HbSandbox'
        'Get-HbBackup'
        'Test-HbBackup'
        'Export-HbClosureRecord'
        'Import-HbClosureRecord'
        'Test-HbPreflight'
        'Copy-HbBackup'
        'Remove-HbBackup'
        'Compare-HbContent'
        'Compare-HbCatalog'
        'Get-HbRestoreHistory'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('PostgreSQL', 'Docker', 'Backup', 'Restore', 'SSH', 'Linux', 'pg_dump', 'DisasterRecovery', 'PSEdition_Core')
            # No LicenseUri, ProjectUri or HelpInfoURI: the license text (MIT) and the changelog ship in the module folder,
            # and the help ships with the module (nothing to update online).
            ReleaseNotes = 'See CHANGELOG.md in the module folder: restore-test records and manifests import, help with syntax per parameter set and about_HbOps, objects that bind after Import-Clixml / Receive-Job / ConvertFrom-Json, -Target on the listing and test cmdlets, one-round-trip listings, one failure rule for the Test-* cmdlets, a package.'
        }
    }
}
