# Dot-sourced (after TestSetup.ps1) by the Pester files that use the off-host storage started by tests/env/start-storage.sh:
# an SFTP-only, chrooted account on its own sshd. Its alias resolves through the environment's ssh config (which Includes
# the storage's block), so the tests name it as an operator would: -Destination storage:/backups.
$storageEnvDir = if ($env:HBOPS_ENV_DIR) { $env:HBOPS_ENV_DIR } else { '/tmp/hbops-testenv' }
$script:Storage = Get-Content -Raw (Join-Path $storageEnvDir 'storage/storage.json') | ConvertFrom-Json
$script:Sftp = @{ SshConfigPath = $script:TestEnv.SshConfigPath }

# Where a path on the storage is on this machine (the chroot).
function Get-HbStorageLocal([string] $Path) { $script:Storage.Chroot + $Path }

# A new, unique folder on the storage (not created); remove it with Remove-HbStorageFolder.
function New-HbStorageFolder([string] $Prefix, [string] $Root = $script:Storage.Root) {
    "$Root/$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
}

function Remove-HbStorageFolder([string] $Path) {
    $local = Get-HbStorageLocal $Path
    if (Test-Path -LiteralPath $local) { Remove-Item -Recurse -Force -LiteralPath $local }
}

# Cuts every connection the storage sshd serves (each connection's monitor, network child and sftp server), leaving the
# listener running. Kills by process id only.
function Stop-HbStorageConnections {
    $pending = [Collections.Generic.Queue[string]]::new()
    foreach ($p in @(ps -o pid= --ppid (Get-Content $script:Storage.PidFile).Trim())) { if ($p.Trim()) { $pending.Enqueue($p.Trim()) } }
    $all = @()
    while ($pending.Count -gt 0) {
        $p = $pending.Dequeue()
        $all += $p
        foreach ($c in @(ps -o pid= --ppid $p)) { if ($c.Trim()) { $pending.Enqueue($c.Trim()) } }
    }
    if ($all) { kill -9 @all 2>$null }
}

# An artefact as a backup leaves it (dump, SHA256SUMS with its lines, manifest) in <Root>/<Tag>_<date>/, made from a real
# artefact's manifest with another time, run id and dump (random bytes of -SizeBytes): retention and transfer tests need
# many artefacts of different ages or sizes, which real backups cannot give quickly. -Location Host makes it an artefact
# of the template's docker host (this machine in the test environment), as Invoke-HbBackup without -Local leaves it.
function New-HbFakeArtefact {
    param([HbOps.Model.HbBackupArtefact] $Template, [string] $Root, [datetime] $TimestampUtc, [long] $SizeBytes = 65536, [string] $Tag = 'fake',
        [ValidateSet('Local', 'Host')] [string] $Location = 'Local')
    $ts = $TimestampUtc.ToUniversalTime()
    $folder = Join-Path $Root ("{0}_{1}" -f $Tag, $ts.ToString('yyyy-MM-dd'))
    $null = New-Item -ItemType Directory -Force -Path $folder
    $name = "{0}_full_{1}.dump" -f $Template.Database, $ts.ToString("yyyyMMdd'T'HHmmss'Z'")
    $dump = Join-Path $folder $name
    /bin/sh -c 'head -c "$1" /dev/urandom > "$2"' hbops $SizeBytes $dump
    $sha = (Get-FileHash -Algorithm SHA256 -LiteralPath $dump).Hash.ToLowerInvariant()
    $set = @{
        runId = [guid]::NewGuid().ToString('N').Substring(0, 8); path = $dump; fileName = $name; runFolder = $folder; location = $Location
        tag = $Tag; sizeBytes = "$SizeBytes"; sha256 = $sha; checksumPath = (Join-Path $folder 'SHA256SUMS'); manifestPath = "$dump.manifest.yml"
        timestampUtc = $ts.ToString('o')
    }
    $lines = foreach ($line in (Get-Content -LiteralPath $Template.ManifestPath)) {
        if ($line -match '^([A-Za-z0-9]+):' -and $set.ContainsKey($Matches[1])) { "$($Matches[1]): $($set[$Matches[1]])" } else { $line }
    }
    $manifest = ($lines -join "`n") + "`n"
    [IO.File]::WriteAllText("$dump.manifest.yml", $manifest, [Text.UTF8Encoding]::new($false))
    $manifestSha = (Get-FileHash -Algorithm SHA256 -LiteralPath "$dump.manifest.yml").Hash.ToLowerInvariant()
    Add-Content -LiteralPath (Join-Path $folder 'SHA256SUMS') -Value "$sha  $name", "$manifestSha  $name.manifest.yml"
    Get-HbBackup -Path $folder -Local | Where-Object FileName -eq $name
}
