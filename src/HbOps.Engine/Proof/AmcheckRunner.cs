using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using HbOps.Engine.Docker;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>
/// Runs pg_amcheck (PostgreSQL 14 and later) inside a sandbox: every heap table (verify_heapam) and btree index
/// (bt_index_check) of the restored database, optionally looking every heap tuple up in every index
/// (--heapallindexed). It installs the amcheck extension where missing, which only ever happens in the throwaway sandbox.
/// </summary>
internal sealed partial class AmcheckRunner(DockerCli docker)
{
    // "btree index "db.schema.name":" or "heap table "db.schema.name", block 3, offset 7, attribute 2:" start a report;
    // its message lines follow, indented.
    [GeneratedRegex("""^(?<kind>heap table|btree index) "(?<rel>[^"]+)"(?:, (?<loc>.*))?:$""")]
    private static partial Regex ReportHeader();

    [GeneratedRegex(@"(\d+)/(\d+) relations \(\d+%\),\s*(\d+)/(\d+) pages")]
    private static partial Regex ProgressLine();

    /// <summary>The argument vector run in the sandbox.</summary>
    public static List<string> Argv(string user, string database, bool heapAllIndexed, int jobs)
    {
        var argv = new List<string> { "pg_amcheck", "-U", user, "--install-missing", "--progress", "-j", jobs.ToString(CultureInfo.InvariantCulture) };
        if (heapAllIndexed) argv.Add("--heapallindexed");
        // The database as the positional argument: pg_amcheck connects to it directly (a -d pattern would need a
        // maintenance database, which a directly initialised sandbox does not have).
        argv.Add(database);
        return argv;
    }

    /// <summary>Runs pg_amcheck in <paramref name="sandbox"/> and reads what it found.</summary>
    public async Task<HbAmcheckResult> RunAsync(HbSandbox sandbox, bool heapAllIndexed, int jobs, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        var argv = Argv(sandbox.User, sandbox.Database, heapAllIndexed, Math.Clamp(jobs, 1, 64));
        var result = new HbAmcheckResult { HeapAllIndexed = heapAllIndexed, Command = string.Join(' ', argv.Select(ShellQuote.Quote)) };
        var sw = Stopwatch.StartNew();
        var r = await docker.RunAsync(DockerCli.ExecArgv(sandbox.Name, argv), ct).ConfigureAwait(false);
        result.Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3);
        result.ExitCode = r.ExitCode;
        Read(result, r.StandardOutput, r.StandardError);
        return result;
    }

    /// <summary>Fills <paramref name="result"/> from pg_amcheck's exit code and output.</summary>
    public static void Read(HbAmcheckResult result, string stdout, string stderr)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Progress is redrawn with carriage returns on stderr; its last state holds the totals.
        foreach (Match m in ProgressLine().Matches(stderr ?? ""))
        {
            result.RelationsChecked = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            result.PagesChecked = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        }
        HbAmcheckFailure? current = null;
        foreach (var raw in (stdout ?? "").Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (ReportHeader().Match(line) is { Success: true } h)
            {
                current = new HbAmcheckFailure { RelationKind = h.Groups["kind"].Value, Relation = h.Groups["rel"].Value, Location = h.Groups["loc"].Value };
                result.Failures.Add(current);
            }
            else if (current is not null && line.StartsWith("    ", StringComparison.Ordinal))
            {
                current.Message = (current.Message.Length > 0 ? current.Message + " " : "") + Redaction.Redact(line.Trim());
            }
        }
        // pg_amcheck's own errors (it could not connect, the image has no pg_amcheck, ...) are on stderr.
        var errors = (stderr ?? "").Replace('\r', '\n').Split('\n')
            .Where(l => l.StartsWith("pg_amcheck: error:", StringComparison.Ordinal) || l.Contains("executable file not found", StringComparison.Ordinal) ||
                        (l.Contains("not found", StringComparison.Ordinal) && l.Contains("pg_amcheck", StringComparison.Ordinal)))
            .Select(l => Redaction.Redact(l.Trim())).Distinct().ToList();
        if (result.ExitCode == 0 && result.Failures.Count == 0)
        {
            result.Status = HbCheckStatus.Passed;
            result.Message = string.Create(CultureInfo.InvariantCulture,
                $"no corruption found in {result.RelationsChecked} relations ({result.PagesChecked} pages){(result.HeapAllIndexed ? ", every heap tuple found in its indexes" : "")}");
            return;
        }
        result.Status = HbCheckStatus.Failed;
        if (result.Failures.Count == 0)
        {
            var why = errors.Count > 0 ? string.Join(" ", errors) : Redaction.Redact((stderr ?? "").Trim().Split('\n').LastOrDefault() ?? "");
            result.Failures.Add(new HbAmcheckFailure { Message = why.Length > 0 ? why : $"pg_amcheck exited {result.ExitCode}" });
            result.Message = $"pg_amcheck could not check the restored copy (exit {result.ExitCode}): {result.Failures[0].Message}";
        }
        else
        {
            result.Message = $"pg_amcheck found {result.Failures.Count} problem(s): " +
                string.Join("; ", result.Failures.Take(3).Select(f => $"{f.RelationKind} {f.Relation}: {f.Message}")) +
                (result.Failures.Count > 3 ? $"; and {result.Failures.Count - 3} more" : "");
        }
    }
}
