# Faults at every moment, not one: the SSH connection cut, or Ctrl+C pressed, at fractions of a measured run's duration
# spread over its phases (preflight, snapshot, dump, claim, manifest; sandbox creation, pg_restore, proof, teardown).
# Whatever the moment, the same invariants hold afterwards: a run either returned its artefact (claimed, listed in
# SHA256SUMS, verifying) or an error with a stable id, and nothing of it is left: no partial, lock or temporary file, no
# server session on production, no sandbox container or volume, no upload folder. The delays are the faults' timings (the
# point of these tests), taken relative to a measured run so that they land in the same phases on a slower machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:Id = [guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:Root = "$($TestEnv.BackupRoot)/faults-$Id"
    $script:Fractions = 0.05, 0.25, 0.5, 0.75, 0.95, 1.2

    # Runs $Script in the background and, $Delay seconds after its start, cuts its SSH connection (Cut) or stops it
    # (CtrlC). Returns the outputs and errors once it ended.
    function Invoke-HbFaultAt {
        param([scriptblock] $Script, [object[]] $Arguments, [double] $Delay, [ValidateSet('Cut', 'CtrlC')] [string] $Fault)
        $f = Invoke-HbFault -Script $Script -Arguments $Arguments -Delay $Delay -Fault $Fault
        $job = $f.Job
        $ended = $f.EndedFirst
        $state = $job.PowerShell.InvocationStateInfo.State
        $out = @(if ($state -eq 'Completed') { $job.PowerShell.EndInvoke($job.Handle) })
        $errors = @($job.PowerShell.Streams.Error)
        $job.PowerShell.Dispose()
        # A cut connection (or none, when the run ended first) leaves exactly one outcome: the result or its error. Ctrl+C
        # stops the pipeline: the result when it was written before, else nothing.
        if ($Fault -eq 'Cut' -or $ended) {
            $what = "outputs: $($out | ForEach-Object { "$_ $($_.Result) $($_.FailureReasons -join '; ')" }); errors: $($errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" })"
            # A failed restore-test result comes with its RestoreTestFailed error (the Test-* rule): one outcome.
            $own = @($errors | Where-Object { $_.FullyQualifiedErrorId -notlike 'RestoreTestFailed,*' })
            ($out.Count + $own.Count) | Should -Be 1 -Because "the run ends with its result or one error ($what)"
        }
        else { $state | Should -BeIn 'Stopped', 'Completed' }
        [pscustomobject]@{ Output = $out; Errors = $errors }
    }

    # Every dump in the run folder is a claimed artefact: manifest beside it, both listed in SHA256SUMS, which verifies.
    function Assert-HbRunFolderConsistent {
        param([string] $Folder)
        if (-not (Test-Path $Folder)) { return }
        $dumps = @(Get-ChildItem -LiteralPath $Folder -File -Filter '*.dump' | ForEach-Object Name)
        foreach ($d in $dumps) { Join-Path $Folder "$d.manifest.yml" | Should -Exist -Because "$d was claimed, so its manifest exists" }
        if ($dumps.Count -gt 0) {
            $listed = @(Get-Content (Join-Path $Folder 'SHA256SUMS') | ForEach-Object { ($_ -split '  ', 2)[1] })
            foreach ($d in $dumps) { $listed | Should -Contain $d; $listed | Should -Contain "$d.manifest.yml" }
            Push-Location $Folder
            try { $null = sha256sum -c --quiet SHA256SUMS 2>&1; $LASTEXITCODE | Should -Be 0 -Because 'every listed file verifies' }
            finally { Pop-Location }
        }
    }

    $script:Backup = { param($ssh, $prod, $dest, $tag) Invoke-HbBackup @ssh @prod -Destination $dest -Tag $tag }
    $script:LocalBackup = { param($ssh, $prod, $dest, $tag) Invoke-HbBackup @ssh @prod -Destination $dest -Tag $tag -Local }
    $script:Restore = { param($artefact) $artefact | Test-HbRestore }

    # The durations the fractions are taken of (warm: the module and the connection path have run once).
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $script:Reference = Invoke-HbBackup @Ssh @Prod -Destination $Root -Tag "ref$Id"
    $script:BackupSeconds = $sw.Elapsed.TotalSeconds
    $sw.Restart()
    $null = $Reference | Test-HbRestore
    $script:RestoreSeconds = $sw.Elapsed.TotalSeconds
    # A local artefact restored on the remote engine is uploaded first: its own timings.
    $script:LocalRoot = Join-Path ([IO.Path]::GetTempPath()) "hbops-faults-ref-$Id"
    $script:LocalReference = Invoke-HbBackup @Ssh @Prod -Destination $LocalRoot -Tag "lref$Id" -Local -RowCounts None
    $sw.Restart()
    $null = $LocalReference | Test-HbRestore
    $script:LocalRestoreSeconds = $sw.Elapsed.TotalSeconds
}

AfterAll {
    Remove-Item -Recurse -Force $Root, $LocalRoot -ErrorAction SilentlyContinue
    Get-HbLeftovers | Should -BeNullOrEmpty
}

Describe 'Faults at every moment of a run' {
    It 'Invoke-HbBackup on the host, <Fault> at <Fraction> of a run: an artefact or a stable error, and nothing left behind' -ForEach @(
        foreach ($f in 0.05, 0.25, 0.5, 0.75, 0.95, 1.2) { @{ Fault = 'Cut'; Fraction = $f }; @{ Fault = 'CtrlC'; Fraction = $f } }
    ) {
        $tag = "f$Id$($Fault.ToLower())$([int]($Fraction * 100))"
        $r = Invoke-HbFaultAt $Backup @($Ssh, $Prod, $Root, $tag) ($BackupSeconds * $Fraction) $Fault
        foreach ($e in $r.Errors) { $e.FullyQualifiedErrorId | Should -BeIn @('SshConnectionLost,HbOps.InvokeHbBackupCommand', 'OperationCancelled,HbOps.InvokeHbBackupCommand') }
        @($r.Output).Count + @($r.Errors).Count | Should -BeLessOrEqual 1
        $folder = Join-Path $Root "$($tag)_$((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd'))"
        Wait-HbCondition { (Get-HbDumpSessions -WithSnapshot) -eq '0' } 30 | Should -BeTrue -Because 'no server session of the run outlives it'
        Get-HbStrayFiles -Path $Root | Should -BeNullOrEmpty
        Assert-HbRunFolderConsistent $folder
        foreach ($a in $r.Output) { "$(($a | Test-HbBackup).Status)" | Should -Be 'Verified' }
    }

    It 'Invoke-HbBackup -Local, <Fault> at <Fraction> of a run: an artefact or a stable error, and nothing left behind' -ForEach @(
        foreach ($f in 0.25, 0.75, 1.2) { @{ Fault = 'Cut'; Fraction = $f }; @{ Fault = 'CtrlC'; Fraction = $f } }
    ) {
        $tag = "l$Id$($Fault.ToLower())$([int]($Fraction * 100))"
        $local = Join-Path ([IO.Path]::GetTempPath()) "hbops-faults-$Id"
        try {
            $r = Invoke-HbFaultAt $LocalBackup @($Ssh, $Prod, $local, $tag) ($BackupSeconds * $Fraction) $Fault
            foreach ($e in $r.Errors) { $e.FullyQualifiedErrorId | Should -BeIn @('SshConnectionLost,HbOps.InvokeHbBackupCommand', 'OperationCancelled,HbOps.InvokeHbBackupCommand') }
            Wait-HbCondition { (Get-HbDumpSessions -WithSnapshot) -eq '0' } 30 | Should -BeTrue -Because 'no server session of the run outlives it'
            Get-HbStrayFiles -Path $local | Should -BeNullOrEmpty
            Assert-HbRunFolderConsistent (Join-Path $local "$($tag)_$((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd'))")
        }
        finally { Remove-Item -Recurse -Force $local -ErrorAction SilentlyContinue }
    }

    It 'Test-HbRestore, <Fault> at <Fraction> of a run: a result or a stable error, and no sandbox left behind' -ForEach @(
        foreach ($f in 0.05, 0.25, 0.5, 0.75, 0.95, 1.2) { @{ Fault = 'Cut'; Fraction = $f }; @{ Fault = 'CtrlC'; Fraction = $f } }
    ) {
        $r = Invoke-HbFaultAt $Restore @(, $Reference) ($RestoreSeconds * $Fraction) $Fault
        foreach ($e in $r.Errors) {
            $e.FullyQualifiedErrorId | Should -BeIn @('SshConnectionLost,HbOps.TestHbRestoreCommand', 'OperationCancelled,HbOps.TestHbRestoreCommand', 'RestoreTestFailed,HbOps.TestHbRestoreCommand')
        }
        foreach ($t in $r.Output) {
            # Cut during the teardown: the restore was proven but its teardown could not be verified, which fails the
            # result and says so (the lease removes the sandbox); otherwise the result is the usual pass.
            if ("$($t.Result)" -eq 'Failed') { $t.FailureReasons -join ' ' | Should -Match 'Teardown could not be verified.*SSH connection' }
            else { "$($t.Result)" | Should -BeLike 'Passed*'; $t.TeardownVerified | Should -BeTrue }
        }
        # Ctrl+C returns after the clean-up; a cut connection leaves it to the lease on the host, which acts at once.
        Wait-HbCondition { -not (docker ps -aq --filter 'label=hbops.sandbox=true') -and -not (docker volume ls -q --filter 'label=hbops.sandbox=true') } 30 |
            Should -BeTrue -Because 'no sandbox container or volume outlives the run'
        Get-HbStrayFiles -Path $Root | Should -BeNullOrEmpty
    }

    It 'Test-HbRestore of a local artefact (uploaded to the host), <Fault> at <Fraction> of a run: no sandbox and no upload left behind' -ForEach @(
        foreach ($f in 0.1, 0.4, 0.8) { @{ Fault = 'Cut'; Fraction = $f }; @{ Fault = 'CtrlC'; Fraction = $f } }
    ) {
        $uploads = @(Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory).FullName
        $r = Invoke-HbFaultAt $Restore @(, $LocalReference) ($LocalRestoreSeconds * $Fraction) $Fault
        foreach ($e in $r.Errors) { $e.FullyQualifiedErrorId | Should -BeIn @('SshConnectionLost,HbOps.TestHbRestoreCommand', 'OperationCancelled,HbOps.TestHbRestoreCommand') }
        Wait-HbCondition { -not (docker ps -aq --filter 'label=hbops.sandbox=true') -and -not (docker volume ls -q --filter 'label=hbops.sandbox=true') } 30 |
            Should -BeTrue -Because 'no sandbox container or volume outlives the run'
        Wait-HbCondition { -not (@(Get-ChildItem /tmp -Filter 'hbops-upload-*' -Directory).FullName | Where-Object { $_ -notin $uploads }) } 30 |
            Should -BeTrue -Because 'no upload folder outlives the run'
    }
}
