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

# Files a run must never leave in a backup root: partial dumps, status files of older versions, temporary files, a
# SHA256SUMS lock. A file that still changes (or goes) while it is watched belongs to a run in flight (other test
# files use the same roots at the same time) and is not counted.
function Get-HbStrayFiles {
    param([string[]] $Path, [int] $SettleSeconds = 3)
    $patterns = '*.partial', '*.partial.*', '*.rc', '*.teerc', '*.stderr', '*.tmp.*', '*.tmp-*', 'SHA256SUMS.lock'
    $list = {
        foreach ($p in $Path | Where-Object { Test-Path $_ }) {
            Get-ChildItem -LiteralPath $p -Recurse -File -Force -ErrorAction SilentlyContinue |
                Where-Object { $n = $_.Name; $patterns | Where-Object { $n -like $_ } } |
                ForEach-Object { [pscustomobject]@{ Path = $_.FullName; Stamp = "$($_.Length)/$($_.LastWriteTimeUtc.Ticks)" } }
        }
    }
    $seen = @(& $list)
    if ($seen.Count -eq 0) { return }
    $deadline = (Get-Date).AddSeconds(30)
    do {
        Start-Sleep -Seconds $SettleSeconds
        $now = @(& $list)
        $stable = @($now | Where-Object { $n = $_; $seen | Where-Object { $_.Path -eq $n.Path -and $_.Stamp -eq $n.Stamp } })
        $changed = $now.Count -ne $stable.Count
        $seen = $now
    } while ($changed -and (Get-Date) -lt $deadline)
    $stable | ForEach-Object Path
}

# Stray files that were already in the shared backup root when this test file started are not this file's doing.
$script:StrayFilesBefore = @(Get-HbStrayFiles -Path $script:TestEnv.BackupRoot -SettleSeconds 0)

function Get-HbLeftovers {
    # Every container and volume an HbOps sandbox could leave behind, anonymous volumes left by removed containers, and
    # stray files (partial dumps, status or temporary files) in the shared backup root.
    @(docker ps -aq --filter 'label=hbops.sandbox=true') + @(docker volume ls -q --filter 'label=hbops.sandbox=true') +
    @(docker volume ls -q --filter dangling=true | Where-Object { $_ -notin $script:DanglingVolumesBefore }) +
    @(Get-HbStrayFiles -Path $script:TestEnv.BackupRoot | Where-Object { $_ -notin $script:StrayFilesBefore }) | Where-Object { $_ }
}

# The client ports of this process's SSH connections to the test sshd.
function Get-HbSshClientPorts {
    ss -tnpH state established "( dport = :$($script:TestEnv.SshPort) )" | Where-Object { $_ -match "pid=$PID," } |
        ForEach-Object { (($_ -split '\s+')[2] -split ':')[-1] }
}

# Kills the sshd processes serving this process's SSH connections that were not open before ($Except: client ports from
# Get-HbSshClientPorts), i.e. the connection of the command a test started; nobody else's connection is touched.
function Stop-HbSshConnection {
    param([string[]] $Except = @(), [int] $TimeoutSeconds = 30)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    do {
        $ports = @(Get-HbSshClientPorts | Where-Object { $_ -notin $Except })
        if ($ports.Count -eq 0) { Start-Sleep -Milliseconds 50 }
    } while ($ports.Count -eq 0 -and (Get-Date) -lt $deadline)
    if ($ports.Count -eq 0) { throw 'the command opened no SSH connection to cut' }
    $pids = foreach ($port in $ports) {
        ss -tnpH state established "( sport = :$($script:TestEnv.SshPort) and dport = :$port )" |
            ForEach-Object { [regex]::Matches($_, 'pid=(\d+)') | ForEach-Object { $_.Groups[1].Value } }
    }
    $pids = @($pids | Sort-Object -Unique)
    if ($pids.Count -eq 0) { throw "no sshd process serves client ports $ports" }
    foreach ($p in $pids) { kill -KILL $p }
    $pids
}

# Waits until $Condition is true (re-evaluated every 200 ms); returns whether it became true within the time.
function Wait-HbCondition {
    param([scriptblock] $Condition, [int] $TimeoutSeconds = 30)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ((Get-Date) -gt $deadline) { return $false }
        Start-Sleep -Milliseconds 200
    }
    $true
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

# Runs $Script in the background and applies a fault to it: once $Ready is true (an event), or $Delay seconds after its
# start (a moment). Cut kills the SSH connections the command opened (nobody else's); CtrlC stops its pipeline. Returns
# the job, ended, and whether it had ended before the fault was due (then nothing was done to it).
function Invoke-HbFault {
    param(
        [scriptblock] $Script, [object[]] $Arguments, [scriptblock] $Ready, [double] $Delay = -1,
        [ValidateSet('Cut', 'CtrlC')] [string] $Fault = 'Cut', [int] $ReadyTimeoutSeconds = 90
    )
    $before = @(Get-HbSshClientPorts)
    $job = Start-HbBackground $Script $Arguments
    if ($Ready) {
        Wait-HbCondition { $job.Handle.IsCompleted -or (& $Ready) } $ReadyTimeoutSeconds | Should -BeTrue -Because 'the command should get to the moment of the fault'
        $endedFirst = $job.Handle.IsCompleted
    }
    else { $endedFirst = $job.Handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Delay)) }
    if (-not $endedFirst) {
        if ($Fault -eq 'CtrlC') { $job.PowerShell.Stop() }
        # The run may end (and its connection close) while the cut is being aimed: then there is nothing to cut.
        elseif (@(Get-HbSshClientPorts | Where-Object { $_ -notin $before }).Count -gt 0) {
            try { Stop-HbSshConnection -Except $before -TimeoutSeconds 5 | Out-Null }
            catch { if ("$_" -notmatch 'no sshd process serves|opened no SSH connection' -or -not $job.Handle.IsCompleted) { throw } }
        }
    }
    $job.Handle.AsyncWaitHandle.WaitOne(90000) | Should -BeTrue -Because 'the command ends after the fault'
    [pscustomobject]@{ Job = $job; EndedFirst = $endedFirst }
}

# With a table held by Lock-HbProductionTable: runs $Script in the background, waits until its own server sessions wait
# for the lock (other runs may wait behind it too), then presses Ctrl+C or cuts its SSH connection ($Fault 'Ctrl+C' or
# 'SSH connection cut'). Checks that the command was still waiting, then stopped or failed with $CutErrorId. Returns the
# application names of the command's waiting sessions. (A running job's streams are not read: enumerating them waits
# for the job to end.)
function Invoke-HbFaultBehindLock {
    param([scriptblock] $Script, [object[]] $Arguments, [string] $Fault, [string] $CutErrorId)
    $waitingBefore = @(Get-HbSessionsWaitingForLock)
    $f = Invoke-HbFault $Script $Arguments -Fault $(if ($Fault -eq 'Ctrl+C') { 'CtrlC' } else { 'Cut' }) `
        -Ready { $script:hbWaiting = @(Get-HbSessionsWaitingForLock | Where-Object { $_ -notin $waitingBefore }); $hbWaiting.Count -gt 0 }
    $ours = $script:hbWaiting
    $f.EndedFirst | Should -BeFalse -Because 'the command waits for the lock'
    $job = $f.Job
    if ($Fault -eq 'Ctrl+C') { $job.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped' }
    else {
        $job.PowerShell.EndInvoke($job.Handle) | Should -BeNullOrEmpty
        $job.PowerShell.Streams.Error[0].FullyQualifiedErrorId | Should -BeLike $CutErrorId
    }
    $job.PowerShell.Dispose()
    , $ours
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
    # Artefacts are private (0600) to the account that made them: the copy is that account's too.
    chown --reference=$($Artefact.Path) $copy
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

# Server sessions of HbOps dumps in production: of one run (its id is in its partial file's name), or of any run;
# -WithSnapshot also counts the runs' snapshot sessions (row counts, fingerprints).
function Get-HbDumpSessions {
    param([string] $RunId, [switch] $WithSnapshot)
    $run = if ($RunId) { $RunId } else { '%' }
    $where = "application_name LIKE 'hbops-dump-$run'" + $(if ($WithSnapshot) { " OR application_name LIKE 'hbops-snapshot-$run'" } else { '' })
    docker exec $script:TestEnv.Container psql -U $script:TestEnv.User -d $script:TestEnv.Database -qAtc "SELECT count(*) FROM pg_stat_activity WHERE $where"
}

# Holds an ACCESS EXCLUSIVE lock on a production table from a psql session of its own (application_name
# 'hbops-test-lock') until Unlock-HbProductionTable: a dump started meanwhile waits for it, deterministically, with its
# server session open and nothing written (a long migration on a real server does the same).
function Lock-HbProductionTable {
    param([string] $Table = 'app.customers')
    $psi = [Diagnostics.ProcessStartInfo]::new('docker')
    foreach ($a in 'exec', '-i', '-e', 'PGAPPNAME=hbops-test-lock', $script:TestEnv.Container, 'psql', '-X', '-q', '-U', $script:TestEnv.User, '-d', $script:TestEnv.Database) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $p.StandardInput.WriteLine("BEGIN; LOCK TABLE $Table IN ACCESS EXCLUSIVE MODE;")
    $p.StandardInput.Flush()
    $held = Wait-HbCondition { (docker exec $script:TestEnv.Container psql -U $script:TestEnv.User -d $script:TestEnv.Database -qAtc "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'hbops-test-lock' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation = '$Table'::regclass") -eq '1' } 30
    if (-not $held) { $p.Kill(); throw "the test lock on $Table was not granted" }
    $p
}

function Unlock-HbProductionTable {
    param([Diagnostics.Process] $Lock)
    try { $Lock.StandardInput.WriteLine('ROLLBACK;'); $Lock.StandardInput.Close() } catch { }
    if (-not $Lock.WaitForExit(30000)) { $Lock.Kill() }
    $Lock.Dispose()
}

# Application names of HbOps' server sessions (any run, any part) waiting for a lock.
function Get-HbSessionsWaitingForLock {
    @(docker exec $script:TestEnv.Container psql -U $script:TestEnv.User -d $script:TestEnv.Database -qAtc "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'hbops-%' AND application_name <> 'hbops-test-lock' AND wait_event_type = 'Lock'" |
        Where-Object { $_ })
}

# Which of the application names $Names still have a server session.
function Get-HbLiveSessions {
    param([string[]] $Names)
    if (-not $Names) { return @() }
    $list = ($Names | ForEach-Object { "'$_'" }) -join ','
    @(docker exec $script:TestEnv.Container psql -U $script:TestEnv.User -d $script:TestEnv.Database -qAtc "SELECT application_name FROM pg_stat_activity WHERE application_name IN ($list)" |
        Where-Object { $_ })
}

# The run id in a partial file's name (<db>_full_<UTC>.dump.<run id>.partial).
function Get-HbRunId {
    param([string] $PartialPath)
    if ((Split-Path -Leaf $PartialPath) -match '\.dump\.([0-9a-f]+)\.partial$') { $Matches[1] } else { throw "not a partial file: $PartialPath" }
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
