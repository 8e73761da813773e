using System.Security.Cryptography;

namespace HbOps.Engine.Postgres;

/// <summary>
/// How an operator's query (a restore test's assertion) runs in a sandbox: as data, never as a client script. The
/// query text only ever travels as a value (a bind parameter with Npgsql; a dollar-quoted literal psql's lexer passes
/// through untouched), so no client meta-command (<c>\!</c>, <c>\o</c>, <c>\g</c>, ...) is ever interpreted. The server
/// then opens it as a cursor from PL/pgSQL (<c>OPEN ... FOR EXECUTE</c>), which accepts exactly one statement that
/// returns rows: COPY, DDL, SET, DO, transaction control and multi-statement text are refused by the server itself
/// ("cannot open ... query as cursor"). It runs in a <c>READ ONLY</c> transaction that is rolled back, as
/// <see cref="Role"/>: a role that may log in and read everything but is no superuser, so functions with side effects
/// outside the database (<c>lo_export</c>, server files, COPY TO PROGRAM reached through a function) are refused too.
/// </summary>
/// <remarks>
/// What is left: functions the restored database defines as <c>SECURITY DEFINER</c> run as their owner, which is the
/// restoring superuser (pg_restore runs with <c>--no-owner</c>). Their code came with the dump, which pg_restore already
/// ran with that role's rights.
/// </remarks>
internal static class ReadOnlyQuery
{
    /// <summary>The login role assertions run as in a sandbox (created by <see cref="RoleSetupSql"/>).</summary>
    public const string Role = "hbops_assertion";

    /// <summary>The session setting that carries the query text from the client to the server-side cursor.</summary>
    public const string TextSetting = "hbops.query";

    /// <summary>Name of the cursor the query is opened as; <c>FETCH ALL</c> from it returns the rows.</summary>
    public const string CursorName = "hbops_query";

    /// <summary>Starts the transaction: read only, so nothing the query reaches can write.</summary>
    public const string Begin = "BEGIN READ ONLY";

    /// <summary>
    /// Opens the query (read from <see cref="TextSetting"/>) as <see cref="CursorName"/>. The cursor outlives the DO
    /// block until the transaction ends.
    /// </summary>
    public const string Open = "DO $hbops_open$ DECLARE c refcursor := '" + CursorName + "'; " +
        "BEGIN OPEN c NO SCROLL FOR EXECUTE current_setting('" + TextSetting + "'); END $hbops_open$";

    /// <summary>Returns the query's rows.</summary>
    public const string Fetch = "FETCH ALL FROM " + CursorName;

    /// <summary>Ends the transaction, undoing anything (nothing can have been written).</summary>
    public const string End = "ROLLBACK";

    /// <summary>
    /// Creates <see cref="Role"/> in a freshly restored sandbox (run once, as its superuser): LOGIN, no superuser, may
    /// read every table (past row-level security, as the restoring superuser could), every setting and statistic.
    /// PostgreSQL 14+ grants that through <c>pg_read_all_data</c>; older servers get USAGE on every schema and SELECT on
    /// every table and sequence of the database.
    /// </summary>
    public const string RoleSetupSql = """
        DO $hbops_role$
        DECLARE s name;
        BEGIN
          CREATE ROLE hbops_assertion LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS;
          GRANT pg_read_all_settings, pg_read_all_stats TO hbops_assertion;
          IF current_setting('server_version_num')::int >= 140000 THEN
            EXECUTE 'GRANT pg_read_all_data TO hbops_assertion';
          ELSE
            FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%' LOOP
              EXECUTE format('GRANT USAGE ON SCHEMA %I TO hbops_assertion', s);
              EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO hbops_assertion', s);
              EXECUTE format('GRANT SELECT ON ALL SEQUENCES IN SCHEMA %I TO hbops_assertion', s);
            END LOOP;
          END IF;
        END $hbops_role$;
        """;

    /// <summary>
    /// The whole exchange as one psql script (for routes without bind parameters): the query text is a dollar-quoted
    /// literal whose tag does not occur in it, so psql's lexer passes it to the server as data.
    /// </summary>
    public static string PsqlScript(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var tag = DollarTag(query);
        return Begin + ";\n" +
            "SET LOCAL " + TextSetting + " = " + tag + query + tag + ";\n" +
            Open + ";\n" +
            Fetch + ";\n" +
            End + ";\n";
    }

    /// <summary>A dollar-quote tag (<c>$hbops_xxxxxxxx$</c>) that does not occur in <paramref name="text"/>.</summary>
    public static string DollarTag(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        while (true)
        {
            var tag = "$hbops_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant() + "$";
            if (!text.Contains(tag, StringComparison.Ordinal)) return tag;
        }
    }

    /// <summary>Refuses a text PostgreSQL could never accept (a NUL character), before anything runs.</summary>
    public static void RequireText(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Contains('\0', StringComparison.Ordinal) || query.Trim().Length == 0)
        {
            throw Errors.HbOpsException.Invalid("An assertion's SQL must be one non-empty query without NUL characters.", query);
        }
    }
}
