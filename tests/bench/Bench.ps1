<#
.SYNOPSIS
    Side-by-side benchmarks measured in one run (not timed tests):
      1. Invoke-HbBackup vs the raw 'ssh host docker exec pg_dump -Fc -Z6 > file && sha256sum file', on
         databases of ~150 MB and ~600 MB of md5 text and a ~720 MB pgbench-shaped one (pgbench -i -s 30 plus a
         1.2-million-row text table with an index on the text); wall-time ratio and the pwsh process's peak memory (VmHWM).
      2. Test-HbRestore end to end vs the reference manual sequence (volume create, run, wait, docker cp,
         serial pg_restore, count queries, rm + volume rm) on the same artefact; ratio and per-phase times.
      3. Get-HbBackup listing 100 artefacts on the docker host (manifests with exact row counts of 41 tables, the catalog
         and content fingerprints) vs the raw 'ssh host find ... -exec cat' of the same files; goal: under 1 s.
      4. Copy-HbBackup of the benchmark dumps from the docker host to the SFTP storage (tests/env/start-storage.sh)
         vs scp of the same file; ratio, HbOps' transfer and read-back times, and the pwsh process's peak memory.
      5. Invoke-HbBackup of the ~600 MB and the pgbench-shaped databases with and without content fingerprints
         (-Fingerprint All vs None): what taking them beside pg_dump costs, and the fingerprint query's own seconds per GiB.
    Every HbOps command runs in a fresh pwsh: HbOpsSec is the command's own time in that process (module imported
    before the clock starts); HbOpsProcSec is the whole process as the operator waits for it (pwsh start-up and the
    module import included, ~0.7 s), and ProcRatio is the ratio on that time.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    # Each pair is measured this many times, alternating raw and HbOps; medians are reported (the machine is shared and noisy).
    [ValidateRange(1, 9)] [int] $Repeat = 3,
    # Which pairs to measure (both by default).
    [ValidateSet('Backup', 'Restore', 'Listing', 'Copy', 'Fingerprint')] [string[]] $Only = @('Backup', 'Restore', 'Listing', 'Copy', 'Fingerprint'),
    # Which benchmark databases the backup, restore, copy and fingerprint pairs use (all three by default; the restore
    # pair always includes the production-like fixture as well).
    [ValidateSet('bench_small', 'bench_large', 'bench_pgbench')] [string[]] $Database = @('bench_small', 'bench_large', 'bench_pgbench')
)
$ErrorActionPreference = 'Stop'
$root = Split-Path (Split-Path $PSScriptRoot)
$envDir = if ($env:HBOPS_ENV_DIR) { $env:HBOPS_ENV_DIR } else { '/tmp/hbops-testenv' }
$e = Get-Content -Raw (Join-Path $envDir 'env.json') | ConvertFrom-Json
if ($Only -contains 'Backup' -or $Only -contains 'Restore' -or $Only -contains 'Copy' -or $Only -contains 'Fingerprint') {
    & bash (Join-Path $PSScriptRoot 'seed-bench.sh')
    if ($LASTEXITCODE -ne 0) { throw 'seeding the benchmark databases failed' }
}
$pwsh = Join-Path $PSHOME 'pwsh'
$work = Join-Path $envDir 'bench'
Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
New-Item -ItemType Directory -Force $work | Out-Null
# Backups to the docker host write here as the SSH alias's account (a non-root operator in the test environment).
if ($e.PSObject.Properties['Operator'] -and $e.Operator) { chown "$($e.Operator):" $work; chmod 700 $work }

function Get-Median([double[]] $values) {
    $sorted = $values | Sort-Object
    $sorted[[int][Math]::Floor(($sorted.Count - 1) / 2)]
}

function Measure-Seconds([scriptblock] $block) {
    $sw = [Diagnostics.Stopwatch]::StartNew(); & $block | Out-Null; [Math]::Round($sw.Elapsed.TotalSeconds, 2)
}

# Runs one HbOps command in a fresh pwsh and reports its wall time and the process's peak RSS. $setup runs first, untimed
# (e.g. reading the artefact the command works on into `$in).
function Invoke-HbChild([string] $command, [string] $setup = '') {
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath/HbOps.psd1'
$setup
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = $command
`$s = `$sw.Elapsed.TotalSeconds
`$hwm = (Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value
[pscustomobject]@{ Seconds = [Math]::Round(`$s, 2); PeakMiB = [Math]::Round([long]`$hwm / 1024, 1); Result = `$result } | ConvertTo-Json -Depth 6 -Compress -EnumsAsStrings
"@
    $process = [Diagnostics.Stopwatch]::StartNew()
    $out = & $pwsh -NoProfile -NonInteractive -Command $script
    $processSec = [Math]::Round($process.Elapsed.TotalSeconds, 2)
    if ($LASTEXITCODE -ne 0) { throw "child pwsh failed: $out" }
    $out | Select-Object -Last 1 | ConvertFrom-Json | Add-Member -PassThru ProcessSec $processSec
}

function Get-Ratio([double[]] $numerator, [double[]] $denominator) {
    [Math]::Round((Get-Median $numerator) / (Get-Median $denominator), 2)
}

$ssh = "-F $($e.SshConfigPath) $($e.SshAlias)"
$hbSsh = "-SshHost $($e.SshAlias) -SshConfigPath $($e.SshConfigPath)"
if ($Only -contains 'Listing') {
    Write-Host '== Listing: Get-HbBackup of 100 artefacts on the docker host vs raw ssh find + cat ==' -ForegroundColor Cyan
    $source = (Invoke-HbChild "Invoke-HbBackup $hbSsh -Container $($e.Container) -Database $($e.Database) -User $($e.User) -Destination $work/listing-source -Tag listing").Result
    $listing = Join-Path $work 'listing'
    $manifest = Get-Content -Raw $source.ManifestPath
    foreach ($i in 1..100) {
        $dir = Join-Path $listing ('run{0:d3}' -f $i)
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content -NoNewline -Path (Join-Path $dir "copy$i.dump.manifest.yml") -Value ($manifest -replace '(?m)^runId: .*$', "runId: copy$i")
    }
    $raw = @(); $hb = @(); $hbWarm = @()
    for ($i = 0; $i -lt $Repeat; $i++) {
        $raw += Measure-Seconds { bash -c "ssh $ssh 'find $listing -maxdepth 2 -type f -name \*.manifest.yml -exec cat {} +' > /dev/null" }
        # In a fresh pwsh (module imported before the clock starts): SSH connection, one command, 100 manifests parsed.
        $run = Invoke-HbChild "@(Get-HbBackup $hbSsh -Path '$listing').Count"
        if ($run.Result -ne 100) { throw "Get-HbBackup listed $($run.Result) artefacts, not 100" }
        $hb += $run.Seconds
        # The second listing in the same process (code already compiled, as in a long-running session).
        $hbWarm += (Invoke-HbChild "& { `$null = Get-HbBackup $hbSsh -Path '$listing'; `$sw2 = [Diagnostics.Stopwatch]::StartNew(); `$null = Get-HbBackup $hbSsh -Path '$listing'; [Math]::Round(`$sw2.Elapsed.TotalSeconds, 2) }").Result
    }
    [pscustomobject]@{
        Case = '100 artefacts on the host'; RawSec = (Get-Median $raw); HbOpsSec = (Get-Median $hb); HbOpsSecWarm = (Get-Median $hbWarm)
        Goal = 'under 1 s'; HbOpsRuns = $hb -join ' '; HbOpsWarmRuns = $hbWarm -join ' '
    } | Format-List | Out-String -Width 250 | Out-Host
    Write-Host 'Before, Get-HbBackup read each manifest with its own SSH command (18 manifests took 2.7-6 s).'
}
if ($Only -notcontains 'Backup' -and $Only -notcontains 'Restore' -and $Only -notcontains 'Copy' -and $Only -notcontains 'Fingerprint') { Remove-Item -Recurse -Force $work; return }
$rows = @()
if ($Only -contains 'Backup') {
    Write-Host '== Backup: HbOps vs raw ssh + docker exec pg_dump ==' -ForegroundColor Cyan
    foreach ($db in $Database) {
        $size = docker exec hbops-bench-pg psql -U bench -d $db -Atc 'SELECT pg_database_size(current_database())'
        $m = @{ raw = @(); hb = @(); proc = @(); peak = @(); fp = @(); rawHost = @(); hbHost = @(); procHost = @(); peakHost = @(); fpHost = @() }
        for ($i = 0; $i -lt $Repeat; $i++) {
            # Stream back to this machine: raw pipe vs Invoke-HbBackup -Local.
            $rawFile = Join-Path $work "raw-$db.dump"
            $m.raw += Measure-Seconds { bash -c "ssh $ssh 'docker exec hbops-bench-pg pg_dump -U bench -d $db -F c -Z 6' > $rawFile && sha256sum $rawFile" }
            $hb = Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Local -Destination $work/local$i -Tag $db"
            $m.hb += $hb.Seconds; $m.proc += $hb.ProcessSec; $m.peak += $hb.PeakMiB; $m.fp += $hb.Result.ContentFingerprints.Seconds
            # Dump kept on the docker host: raw 'docker exec > file && sha256sum file' on the host vs Invoke-HbBackup.
            $hostFile = Join-Path $work "rawhost-$db.dump"
            $m.rawHost += Measure-Seconds { bash -c "ssh $ssh 'docker exec hbops-bench-pg pg_dump -U bench -d $db -F c -Z 6 > $hostFile && sha256sum $hostFile'" }
            $hbHost = Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Destination $work/host$i -Tag $db"
            $m.hbHost += $hbHost.Seconds; $m.procHost += $hbHost.ProcessSec; $m.peakHost += $hbHost.PeakMiB; $m.fpHost += $hbHost.Result.ContentFingerprints.Seconds
        }
        $dumpMiB = [Math]::Round((Get-Item $rawFile).Length / 1MB, 1)
        foreach ($side in @{ Case = "$db -> local"; Raw = $m.raw; Hb = $m.hb; Proc = $m.proc; Peak = $m.peak; Fp = $m.fp }, @{ Case = "$db -> host"; Raw = $m.rawHost; Hb = $m.hbHost; Proc = $m.procHost; Peak = $m.peakHost; Fp = $m.fpHost }) {
            $rows += [pscustomobject]@{
                Case = $side.Case; DbMiB = [int][Math]::Round($size / 1MB); DumpMiB = $dumpMiB; RawSec = (Get-Median $side.Raw); HbOpsSec = (Get-Median $side.Hb)
                Ratio = (Get-Ratio $side.Hb $side.Raw); HbOpsProcSec = (Get-Median $side.Proc); ProcRatio = (Get-Ratio $side.Proc $side.Raw)
                FingerprintSec = (Get-Median $side.Fp); PwshPeakMiB = ($side.Peak | Measure-Object -Maximum).Maximum; RawRuns = $side.Raw -join ' '; HbOpsRuns = $side.Hb -join ' '
            }
        }
    }
    Write-Host "Medians of $Repeat alternating runs; peak memory is the maximum over the runs. Goals: Ratio <= 1.0, PwshPeakMiB < 150."
    $rows | Format-Table -Property * -AutoSize | Out-String -Width 250 | Out-Host
    Write-Host 'HbOps times include the exact row counts of every table taken in the dump snapshot (the raw pipe counts nothing).'
    Write-Host 'FingerprintSec: the content fingerprint query (after the counts and the catalog, on the snapshot session beside pg_dump).'
}
if ($Only -contains 'Copy' -and -not (Test-Path (Join-Path $envDir 'storage/storage.json'))) {
    Write-Warning 'No storage in the test environment (tests/env/start-storage.sh): the copy benchmark is skipped.'
}
elseif ($Only -contains 'Copy') {
    Write-Host '== Copy: Copy-HbBackup (docker host -> SFTP storage, read back) vs scp of the same file ==' -ForegroundColor Cyan
    $storage = Get-Content -Raw (Join-Path $envDir 'storage/storage.json') | ConvertFrom-Json
    $copyRows = @()
    foreach ($db in $Database) {
        $dump = Get-ChildItem "$work/host0" -Recurse -Filter "${db}_full_*.dump" -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $dump) {
            $null = Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Destination $work/host0 -Tag $db -RowCounts None"
            $dump = Get-ChildItem "$work/host0" -Recurse -Filter "${db}_full_*.dump" | Select-Object -First 1
        }
        $m = @{ raw = @(); twoStep = @(); hb = @(); transfer = @(); verify = @(); peak = @() }
        for ($i = 0; $i -lt $Repeat; $i++) {
            $dest = "$($storage.Root)/bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
            # scp (the SFTP protocol in OpenSSH 9) of the same file to the same storage account: transfer only, no proof. The
            # docker host is this machine here, so scp reads the file locally; the operator's way from a real host is the
            # two-step copy through this machine's disk (scp -O: the docker host's sshd offers no SFTP subsystem; as root,
            # whose login shell prints nothing into the legacy protocol's stream).
            $m.raw += Measure-Seconds { bash -c "scp -q -F '$($e.SshConfigPath)' '$($dump.FullName)' 'storage:$dest.raw'" }
            $twoStep = Join-Path $work 'twostep.dump'
            $m.twoStep += Measure-Seconds { bash -c "scp -q -O -F '$($e.SshConfigPath)' '$($e.RootAlias):$($dump.FullName)' '$twoStep' && scp -q -F '$($e.SshConfigPath)' '$twoStep' 'storage:$dest.two' && rm -f '$twoStep'" }
            $hb = Invoke-HbChild "`$in | Copy-HbBackup -Destination 'storage:$dest' -SshConfigPath '$($e.SshConfigPath)'" `
                "`$in = Get-HbBackup $hbSsh -Path '$(Split-Path $dump.DirectoryName)' | Where-Object Path -eq '$($dump.FullName)'"
            $m.hb += $hb.Seconds; $m.transfer += $hb.Result.Copy.TransferSeconds; $m.verify += $hb.Result.Copy.VerifySeconds; $m.peak += $hb.PeakMiB
            Remove-Item -Recurse -Force -LiteralPath ($storage.Chroot + $dest), ($storage.Chroot + "$dest.raw"), ($storage.Chroot + "$dest.two")
        }
        $copyRows += [pscustomobject]@{
            Case = "$db dump -> storage"; DumpMiB = [Math]::Round($dump.Length / 1MB, 1); ScpSec = (Get-Median $m.raw); ScpViaLocalSec = (Get-Median $m.twoStep); HbOpsSec = (Get-Median $m.hb)
            Ratio = [Math]::Round((Get-Median $m.hb) / (Get-Median $m.raw), 2); TransferSec = (Get-Median $m.transfer); ReadBackSec = (Get-Median $m.verify)
            TransferRatio = [Math]::Round((Get-Median $m.transfer) / (Get-Median $m.raw), 2); PwshPeakMiB = ($m.peak | Measure-Object -Maximum).Maximum
        }
    }
    $copyRows | Format-Table -AutoSize | Out-String -Width 250 | Out-Host
    Write-Host 'HbOps reads the dump on the docker host over SSH and reads the whole copy back over SFTP to prove it; scp reads the file locally and proves nothing.'
}
if ($Only -contains 'Fingerprint') {
    Write-Host '== Backup with vs without content fingerprints ==' -ForegroundColor Cyan
    foreach ($db in $Database | Where-Object { $_ -ne 'bench_small' }) {
        $size = docker exec hbops-bench-pg psql -U bench -d $db -Atc 'SELECT pg_database_size(current_database())'
        $m = @{ none = @(); all = @(); fp = @() }
        for ($i = 0; $i -lt $Repeat; $i++) {
            $m.none += (Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Destination $work/fpnone$i -Tag fpnone -Fingerprint None").Seconds
            $all = Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Destination $work/fpall$i -Tag fpall -Fingerprint All"
            $m.all += $all.Seconds; $m.fp += $all.Result.ContentFingerprints.Seconds
        }
        $gib = [long]$size / 1GB
        [pscustomobject]@{
            Case = "$db -> host"; DbMiB = [Math]::Round($size / 1MB); NoFingerprintSec = (Get-Median $m.none); FingerprintSec = (Get-Median $m.all)
            Ratio = (Get-Ratio $m.all $m.none); FingerprintQuerySec = (Get-Median $m.fp)
            QuerySecPerGiB = [Math]::Round((Get-Median $m.fp) / $gib, 1); Runs = "none: $($m.none -join ' '); all: $($m.all -join ' ')"
        } | Format-List | Out-String -Width 250 | Out-Host
        Remove-Item -Recurse -Force "$work/fpnone*", "$work/fpall*"
    }
    Write-Host 'Both include exact row counts and the catalog; the fingerprint query runs beside pg_dump in the same snapshot session.'
}
if ($Only -notcontains 'Restore') { Remove-Item -Recurse -Force $work; return }

Write-Host '== Restore test: Test-HbRestore (-Jobs 2) vs the manual sequence ==' -ForegroundColor Cyan
$fixture = Invoke-HbChild "Invoke-HbBackup $hbSsh -Container $($e.Container) -Database $($e.Database) -User $($e.User) -Destination $work/fixture -Tag benchrestore"
$artefacts = @(@{ Name = 'production-like (41 tables)'; Path = $fixture.Result.Path; Db = $e.Database; User = $e.User })
foreach ($db in $Database | Where-Object { $_ -ne 'bench_large' }) {
    # The backup pair's artefact on the docker host when it ran, else one made now.
    $payload = Get-ChildItem "$work/host0" -Recurse -Filter "${db}_full_*.dump" -ErrorAction SilentlyContinue | Select-Object -First 1
    $path = if ($payload) { $payload.FullName } else {
        (Invoke-HbChild "Invoke-HbBackup $hbSsh -Container hbops-bench-pg -Database $db -User bench -Destination $work/host0 -Tag $db").Result.Path
    }
    $artefacts += @{ Name = "$db (payload)"; Path = $path; Db = $db; User = 'bench' }
}
$restoreRows = @()
foreach ($a in $artefacts) {
    $manualRuns = @(); $hbRuns = @(); $hbProc = @(); $hbPeak = @(); $manualPhases = ''; $hbPhases = ''; $hbResult = ''
    for ($i = 0; $i -lt $Repeat; $i++) {
        # Manual reference sequence, step by step, as an operator would type it on the host.
        $name = 'bench-manual-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        $phases = [ordered]@{}
        $total = [Diagnostics.Stopwatch]::StartNew()
        $phases.Create = Measure-Seconds {
            docker volume create "$name-data"
            docker run -d --name $name --network none -e POSTGRES_PASSWORD=manualbench -e "POSTGRES_USER=$($a.User)" -e "POSTGRES_DB=$($a.Db)" -v "${name}-data:/var/lib/postgresql/data" postgres:15
            do { Start-Sleep -Milliseconds 300; docker exec $name pg_isready -q -h 127.0.0.1 } until ($LASTEXITCODE -eq 0)
        }
        $phases.Copy = Measure-Seconds { docker cp $a.Path "${name}:/tmp/restore.dump" }
        $phases.Restore = Measure-Seconds { docker exec $name pg_restore -U $a.User -d $a.Db --no-owner --no-privileges --clean --if-exists /tmp/restore.dump 2>&1 }
        $phases.Counts = Measure-Seconds {
            $tables = docker exec $name psql -U $a.User -d $a.Db -Atc "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables"
            foreach ($t in $tables) { docker exec $name psql -U $a.User -d $a.Db -Atc "SELECT count(*) FROM $t" }
        }
        $phases.Teardown = Measure-Seconds { docker rm -f $name; docker volume rm "$name-data" }
        $manualRuns += [Math]::Round($total.Elapsed.TotalSeconds, 2)
        $manualPhases = ($phases.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ' '

        $hb = Invoke-HbChild "Get-HbBackup -Path '$(Split-Path (Split-Path $a.Path))' -Local | Where-Object Path -eq '$($a.Path)' | Test-HbRestore -Jobs 2"
        $hbRuns += $hb.Seconds; $hbProc += $hb.ProcessSec; $hbPeak += $hb.PeakMiB
        $hbPhases = ($hb.Result.Phases | ForEach-Object { "$($_.Name)=$($_.Seconds)" }) -join ' '
        $hbResult = $hb.Result.Result
    }
    $restoreRows += [pscustomobject]@{
        Artefact = $a.Name; DumpMiB = [Math]::Round((Get-Item $a.Path).Length / 1MB, 1); ManualSec = (Get-Median $manualRuns); HbOpsSec = (Get-Median $hbRuns)
        Ratio = (Get-Ratio $hbRuns $manualRuns); HbOpsProcSec = (Get-Median $hbProc); ProcRatio = (Get-Ratio $hbProc $manualRuns)
        PwshPeakMiB = ($hbPeak | Measure-Object -Maximum).Maximum; HbOpsResult = $hbResult; ManualRuns = $manualRuns -join ' '; HbOpsRuns = $hbRuns -join ' '
        ManualPhasesLastRun = $manualPhases; HbOpsPhasesLastRun = $hbPhases
    }
}
Write-Host "Medians of $Repeat alternating runs. Goals: Ratio <= 0.6, PwshPeakMiB < 150."
$restoreRows | Format-List | Out-String -Width 250 | Out-Host
Write-Host 'HbOps also verifies the SHA-256, inspects isolation, compares exact row counts with the snapshot and verifies the teardown; the manual sequence does none of these.'
Remove-Item -Recurse -Force $work
