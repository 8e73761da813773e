# Names PostgreSQL accepts work end to end (backup, verification, restore test, comparison, closure record): databases,
# a role, a schema and a table with spaces, quotes, '=', non-ASCII letters and shell metacharacters. Each is made in the
# production-like container for this file only and dropped afterwards.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:id = [guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:root = Join-Path $TestEnv.BackupRoot "names-$id"
    $script:tag = "names-$id"
    $script:injected = "/tmp/hbi-$id"
    $script:role = "Ops Üser `"$id`""
    $script:schema = 'Sales Ü'
    $script:table = 'Order "Items" ü'
    function Quote([string] $name) { '"' + $name.Replace('"', '""') + '"' }
    function Invoke-Prod([string] $database, [string] $sql) {
        # As a connection string: psql would take a name with '=' for one.
        $conninfo = "dbname='" + ($database -replace '\\', '\\' -replace "'", "\'") + "'"
        $out = docker exec $TestEnv.Container psql -X -q -A -t -v ON_ERROR_STOP=1 -U $TestEnv.User -d $conninfo -c $sql 2>&1
        if ($LASTEXITCODE -ne 0) { throw "psql on '$database' failed: $out" }
        $out
    }
    Invoke-Prod $TestEnv.Database "CREATE ROLE $(Quote $role) LOGIN SUPERUSER" | Out-Null
    $script:names = @(
        "Prod DB $id"
        "bäckerei_$id"
        "q'u=o`"te $id"
        "inj `$(touch $injected);``touch $injected``|x"
    )
    foreach ($n in $names) {
        Invoke-Prod $TestEnv.Database "CREATE DATABASE $(Quote $n)" | Out-Null
        Invoke-Prod $n ("CREATE SCHEMA $(Quote $schema); CREATE TABLE $(Quote $schema).$(Quote $table) (id int); " +
            "INSERT INTO $(Quote $schema).$(Quote $table) SELECT generate_series(1, 3); CREATE TABLE public.plain AS SELECT 1 AS x") | Out-Null
    }
}

AfterAll {
    foreach ($n in $names) { Invoke-Prod $TestEnv.Database "DROP DATABASE IF EXISTS $(Quote $n) WITH (FORCE)" | Out-Null }
    Invoke-Prod $TestEnv.Database "DROP ROLE IF EXISTS $(Quote $role)" | Out-Null
    Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
    # A kept sandbox stays when its restore test fails to run; these are this file's only.
    $left = @(Get-HbSandbox @Ssh | Where-Object Name -like "pg-restore-test-$tag-*")
    $left | Remove-HbSandbox -Confirm:$false | Out-Null
    $left | Should -BeNullOrEmpty
}

Describe 'Names PostgreSQL accepts' {
    It 'backs up, verifies, restore-tests, compares and records a database named with <Kind>' -ForEach @(
        @{ I = 0; Kind = 'a space' }
        @{ I = 1; Kind = 'a non-ASCII letter' }
        @{ I = 2; Kind = 'quotes and =' }
        @{ I = 3; Kind = 'shell metacharacters' }
    ) {
        $name = $names[$I]
        $qualified = "$schema.$table"
        $a = Invoke-HbBackup @Ssh -Container $TestEnv.Container -Database $name -User $role -Destination $root -Tag $tag -KeyTables $qualified
        $a.Database | Should -Be $name
        $a.User | Should -Be $role
        # The file name is derived from the database name with everything but letters, digits, '_', '.', '-' escaped.
        $a.FileName | Should -Match '^[\p{L}\p{N}_.%-]+_full_\d{8}T\d{6}Z\.dump$'
        $a.Path | Should -Exist
        $a.RowCountSnapshot.Tables.Count | Should -Be 1
        $a.RowCountSnapshot.Tables[0].QualifiedName | Should -Be $qualified
        $a.RowCountSnapshot.Tables[0].ExactRows | Should -Be 3

        "$(($a | Test-HbBackup).Status)" | Should -Be 'Verified'
        (Get-HbBackup @Ssh -Path $root | Where-Object Path -eq $a.Path).Database | Should -Be $name

        $r = $a | Test-HbRestore -KeepSandbox -Assertion @(
            @{ Name = 'rows'; Sql = "SELECT count(*) FROM $(Quote $schema).$(Quote $table)"; Expected = '3' }
            @{ Name = 'database'; Sql = 'SELECT current_database()'; Expected = $name }
        )
        try {
            "$($r.Result)" | Should -Be 'Passed' -Because ($r.FailureReasons -join '; ')
            "$($r.RowCountCheck)" | Should -Be 'Passed'
            $r.Sandbox.Database | Should -Be $name
            $r.Sandbox.User | Should -Be $role
            $r.TablesPerSchema.Schema | Should -Contain $schema
            $c = $r | Compare-HbRowCounts
            $c.Count | Should -Be 2
            @($c | Where-Object { -not $_.Match }) | Should -BeNullOrEmpty
            ($c | Where-Object Table -eq $table).Reference | Should -Be 3
        }
        finally {
            $x = $r | Remove-HbSandbox -Confirm:$false
        }
        $x.Verified | Should -BeTrue
        $record = Join-Path $root "closure-$I.yml"
        $rec = @($a, $r) + $c + @($x) | Export-HbClosureRecord -Path $record -Title "names $I"
        $rec.Accepted | Should -BeTrue
        $back = Import-HbClosureRecord -Path $record
        $back.Backup.Database | Should -Be $name
        $back.Restore.Sandbox.User | Should -Be $role
        ($back.RowCountComparisons | Where-Object Table -eq $table).Schema | Should -Be $schema
        $injected | Should -Not -Exist
        docker exec $TestEnv.Container sh -c "test -e '$injected' && echo yes || echo no" | Should -Be 'no'
    }

    It 'backs up to this machine (-Local) with the same safe file name' {
        $a = Invoke-HbBackup @Ssh -Container $TestEnv.Container -Database $names[2] -User $role -Destination (Join-Path $root 'local') -Local -Tag $tag -RowCounts None
        $a.FileName | Should -Match '^[\p{L}\p{N}_.%-]+_full_\d{8}T\d{6}Z\.dump$'
        $a.Path | Should -Exist
        "$(($a | Test-HbBackup).Status)" | Should -Be 'Verified'
    }
}
