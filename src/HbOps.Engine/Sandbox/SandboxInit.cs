using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Sandbox;

/// <summary>
/// How a sandbox container initialises its cluster. <see cref="HbSandboxInitialization.ImageEntrypoint"/> leaves it to
/// the image (<c>POSTGRES_USER</c>, <c>POSTGRES_DB</c>, <c>POSTGRES_PASSWORD</c>, <c>POSTGRES_INITDB_ARGS</c>): initdb, a
/// temporary socket-only server that creates the database and runs the image's init scripts, a shutdown, then the
/// real server. <see cref="HbSandboxInitialization.Direct"/> replaces the entrypoint with a short script that does
/// only what a restore test needs with the image's own binaries: initdb (UTF8, the image's locale, trust on the local
/// socket, password authentication over TCP), then <c>exec postgres</c> — no temporary server to start, poll and stop.
/// The restore's database is initdb's own first database, renamed in single-user mode (a catalog update, ~30 ms,
/// where <c>CREATE DATABASE</c> copies template1 in ~250 ms): the sandbox holds template0, template1 and the
/// restore's database. Measured on a 2-core host: the server accepts connections ~0.6 s sooner than with the
/// entrypoint.
/// </summary>
internal static class SandboxInit
{
    /// <summary>The sandbox's data directory (its named volume).</summary>
    public const string DataDir = "/var/lib/postgresql/data";

    // Runs as the container's first process (root in the postgres images): prepares the data and socket directories
    // for the postgres user, then runs UserScript as that user (gosu, su-exec, or su, whichever the image has; the
    // binaries' folder is resolved first, as su may reset PATH; su gets "--" so the server's "-c" arguments are not
    // taken as its own). $1: UserScript, $2: the single-user SQL making the restore's database (empty: none), then the
    // server command (a leading "postgres" is dropped: the command is the same in both modes).
    internal const string RootScript = """
        set -eu
        user_script=$1; db_sql=$2; shift 2
        if [ "${1:-}" = postgres ]; then shift; fi
        server=$(command -v postgres) || { echo "hbops: no postgres binary on the image's PATH" >&2; exit 1; }
        bin=${server%/*}
        if [ "$(id -u)" != 0 ]; then exec sh -c "$user_script" hbops-init "$bin" "$db_sql" "$@"; fi
        mkdir -p "$PGDATA" /var/run/postgresql
        chown postgres:postgres "$PGDATA" /var/run/postgresql
        chmod 700 "$PGDATA"
        chmod 2775 /var/run/postgresql
        for tool in gosu su-exec; do
          if command -v "$tool" >/dev/null 2>&1; then exec "$tool" postgres sh -c "$user_script" hbops-init "$bin" "$db_sql" "$@"; fi
        done
        exec su -s /bin/sh -c "$user_script" -- postgres hbops-init "$bin" "$db_sql" "$@"
        """;

    // Runs as the postgres user: a cluster on first start (the password file lives only while initdb reads it), the
    // database (single-user mode connected to template1, one statement per line; exit_on_error, as it otherwise exits
    // 0 after an error), then the server, which listens on the container's loopback only (the container has no other
    // network) and no longer sees the password variable.
    internal const string UserScript = """
        set -eu
        bin=$1; db_sql=$2; shift 2
        if [ ! -s "$PGDATA/PG_VERSION" ]; then
          pwfile=$(mktemp)
          printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
          status=0
          "$bin/initdb" -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 \
            --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null || status=$?
          rm -f "$pwfile"
          if [ "$status" != 0 ]; then exit "$status"; fi
          if [ -n "$db_sql" ]; then
            out=$(printf '%s\n' "$db_sql" | "$bin/postgres" --single -D "$PGDATA" -c exit_on_error=on "$@" template1 2>&1) ||
              { printf '%s\n' "$out" >&2; exit 1; }
          fi
        fi
        unset POSTGRES_PASSWORD
        exec "$bin/postgres" -D "$PGDATA" -c listen_addresses=127.0.0.1 "$@"
        """;

    /// <summary>The entrypoint of a sandbox (null: the image's own).</summary>
    public static IReadOnlyList<string>? Entrypoint(HbSandboxInitialization mode, string database, string user)
    {
        if (mode == HbSandboxInitialization.ImageEntrypoint) return null;
        return new[] { "sh", "-c", RootScript, "hbops-init", UserScript, DatabaseSql(database, user) };
    }

    // initdb writes its superuser's name into SQL and scripts without quoting these characters, and refuses or breaks
    // on them (PostgreSQL 15: "invalid character in extension owner"), although CREATE ROLE takes any name.
    private static readonly char[] InitDbUnsafe = ['"', '$', '\'', '\\'];

    /// <summary>
    /// The superuser initdb makes: the restore's role itself, unless initdb cannot take its name (it holds '"', '$',
    /// a single quote or a backslash); then <c>postgres</c>, and the restore's role is created as a second superuser
    /// (see <see cref="DatabaseSql"/>).
    /// </summary>
    public static string BootstrapUser(string user) => user.IndexOfAny(InitDbUnsafe) < 0 ? user : "postgres";

    /// <summary>
    /// The single-user statements run once after initdb (empty: none): the restore's role when initdb could not make it
    /// (<see cref="BootstrapUser"/>), and initdb's first database turned into the restore's database (nothing for
    /// <c>postgres</c>): a rename, and the comment initdb gave it ("default administrative connection database") removed.
    /// One statement per line, so names are checked to hold no control character; they are quoted as identifiers.
    /// </summary>
    public static string DatabaseSql(string database, string user)
    {
        Validation.PgIdentifier(database, "Database");
        Validation.PgIdentifier(user, "User");
        var lines = new List<string>();
        if (BootstrapUser(user) != user) lines.Add($"CREATE ROLE {QuoteIdentifier(user)} SUPERUSER LOGIN");
        if (database != "postgres")
        {
            var quoted = QuoteIdentifier(database);
            lines.Add($"ALTER DATABASE postgres RENAME TO {quoted}");
            lines.Add($"COMMENT ON DATABASE {quoted} IS NULL");
        }
        return string.Join('\n', lines);
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>The (non-secret) environment of a sandbox; the password travels separately as a secret variable.</summary>
    public static IReadOnlyList<string> Environment(HbSandboxInitialization mode, string user, string database, IReadOnlyDictionary<string, string> settings)
    {
        if (mode == HbSandboxInitialization.ImageEntrypoint && BootstrapUser(user) != user)
        {
            throw HbOpsException.Invalid($"The image's own initialisation (initdb) cannot make role '{Validation.Printable(user)}' (its name holds '\"', '$', a single quote or a backslash); " +
                "use -Initialization Direct, which creates it after initdb.", user);
        }
        var env = new List<string> { $"POSTGRES_USER={(mode == HbSandboxInitialization.Direct ? BootstrapUser(user) : user)}" };
        if (mode == HbSandboxInitialization.ImageEntrypoint) env.Add($"POSTGRES_DB={database}");
        else env.Add($"PGDATA={DataDir}");
        if (SandboxSettings.InitDbArgs(settings) is { Length: > 0 } initdb) env.Add($"POSTGRES_INITDB_ARGS={initdb}");
        return env;
    }
}
