# Dot-sourced by every Pester file: imports the BUILT module (out/HbOps) and reads the test environment.
$ErrorActionPreference = 'Stop'
$script:ModulePath = if ($env:HBOPS_MODULE_PATH) { $env:HBOPS_MODULE_PATH } else { Join-Path $PSScriptRoot '../../out/HbOps' }
Import-Module (Join-Path $script:ModulePath 'HbOps.psd1') -Force
$envDir = if ($env:HBOPS_ENV_DIR) { $env:HBOPS_ENV_DIR } else { '/tmp/hbops-testenv' }
$script:TestEnv = Get-Content -Raw (Join-Path $envDir 'env.json') | ConvertFrom-Json
# The shared parameter vocabulary for reaching the docker host through the operator-style alias.
$script:Ssh = @{ SshHost = $script:TestEnv.SshAlias; SshConfigPath = $script:TestEnv.SshConfigPath }
$script:Prod = @{ Container = $script:TestEnv.Container; Database = $script:TestEnv.Database; User = $script:TestEnv.User }
$script:PwshPath = Join-Path $PSHOME 'pwsh'

# Unused (dangling) volumes that existed before this test file: anything new among them is a leak.
$script:DanglingVolumesBefore = @(docker volume ls -q --filter dangling=true)

function Get-HbLeftovers {
    # Every container and volume an HbOps sandbox could leave behind, and anonymous volumes left by removed containers.
    @(docker ps -aq --filter 'label=hbops.sandbox=true') + @(docker volume ls -q --filter 'label=hbops.sandbox=true') +
    @(docker volume ls -q --filter dangling=true | Where-Object { $_ -notin $script:DanglingVolumesBefore }) | Where-Object { $_ }
}

# Starts a cmdlet pipeline in a second runspace so a test can interrupt it (Stop() = Ctrl+C) or break things under it.
function Start-HbBackground {
    param([scriptblock] $Script, [object[]] $Arguments)
    # One script (no batched statements: stopping a batch crashes the host process).
    $ps = [powershell]::Create()
    $null = $ps.AddScript("Import-Module '$(Join-Path $script:ModulePath 'HbOps.psd1')'`n& { $Script } @args")
    foreach ($a in $Arguments) { $null = $ps.AddArgument($a) }
    [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
}

# Runs a sandbox-making pipeline in the background and interrupts it (Ctrl+C) as soon as its sandbox container exists;
# returns whether the sandbox appeared before the interruption.
function Stop-HbOnceSandboxExists {
    param([scriptblock] $Script, [object[]] $Arguments)
    $job = Start-HbBackground $Script $Arguments
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (docker ps -q --filter 'label=hbops.sandbox=true') -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
    $appeared = [bool](docker ps -q --filter 'label=hbops.sandbox=true')
    $job.PowerShell.Stop()
    $job.PowerShell.Dispose()
    $appeared
}

# A copy of an artefact object (its settable properties) changed by $Change, e.g. another path or server major.
function Copy-HbArtefact {
    param([HbOps.Model.HbBackupArtefact] $Artefact, [scriptblock] $Change)
    $clone = [HbOps.Model.HbBackupArtefact]::new()
    foreach ($p in $Artefact.PSObject.Properties | Where-Object { $_.IsSettable }) { $clone.($p.Name) = $p.Value }
    & $Change $clone
    $clone
}

# The artefact for a copy of its dump, beside it, with the middle byte flipped (the recorded SHA-256 no longer matches).
function New-HbCorruptArtefact {
    param([HbOps.Model.HbBackupArtefact] $Artefact)
    $copy = Join-Path (Split-Path $Artefact.Path) ('corrupt-' + $Artefact.FileName)
    Copy-Item $Artefact.Path $copy
    $bytes = [IO.File]::ReadAllBytes($copy)
    $middle = [int]($bytes.Length / 2)
    $bytes[$middle] = $bytes[$middle] -bxor 0xFF
    [IO.File]::WriteAllBytes($copy, $bytes)
    Copy-HbArtefact $Artefact { param($a) $a.Path = $copy; $a.FileName = Split-Path -Leaf $copy }
}

function Wait-HbFile {
    param([string] $Directory, [string] $Filter, [int] $TimeoutSeconds = 30)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while ((Get-Date) -lt $deadline) {
        $f = Get-ChildItem -Path $Directory -Recurse -Filter $Filter -ErrorAction SilentlyContinue | Where-Object Length -gt 0
        if ($f) { return $f }
        Start-Sleep -Milliseconds 100
    }
    throw "no $Filter appeared under $Directory within $TimeoutSeconds s"
}

function Get-HbDumpSessions {
    docker exec $script:TestEnv.Container psql -U $script:TestEnv.User -d $script:TestEnv.Database -qAtc "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'hbops-dump-%'"
}

# An HbOps config file (in TestDrive) with one target, 'pester-target', on the test environment's docker host.
function New-HbTestConfig {
    param([string] $BackupRoot, [string] $Database = $script:TestEnv.Database)
    $path = Join-Path $TestDrive ('hbops-' + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.yml')
    @"
targets:
  pester-target:
    sshHost: $($script:TestEnv.SshAlias)
    sshConfigPath: $($script:TestEnv.SshConfigPath)
    container: $($script:TestEnv.Container)
    database: $Database
    user: $($script:TestEnv.User)
    backupRoot: $BackupRoot
    tag: pester
"@ | Set-Content -Path $path
    $path
}

# What TabExpansion2 offers at the end of a command line.
function Get-HbCompletion {
    param([string] $Line)
    @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText)
}
