using System.Text.RegularExpressions;
using HbOps.Engine.Errors;

namespace HbOps.Engine.Sandbox;

/// <summary>
/// Server settings of a sandbox (<c>postgres -c name=value</c>). A sandbox is thrown away after the test, so by default
/// it trades crash safety for speed the way a restore-only server may: no fsync, no full-page writes, minimal WAL (COPY
/// into tables created by the same restore skips WAL), no autovacuum competing with the restore. None of these change
/// what is restored or what queries return; they are recorded on the sandbox as evidence.
/// </summary>
public static partial class SandboxSettings
{
    /// <summary>The defaults.</summary>
    public static IReadOnlyDictionary<string, string> Defaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["fsync"] = "off",
        ["synchronous_commit"] = "off",
        ["full_page_writes"] = "off",
        ["wal_level"] = "minimal",
        ["max_wal_senders"] = "0",
        ["max_wal_size"] = "4GB",
        ["checkpoint_timeout"] = "30min",
        ["autovacuum"] = "off",
        ["maintenance_work_mem"] = "128MB",
    };

    [GeneratedRegex(@"^[a-z][a-z0-9_.]{0,62}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_.:+-]{1,100}$")]
    private static partial Regex ValueRegex();

    /// <summary>
    /// The defaults with overrides applied: a value replaces or adds a setting, an empty value removes it.
    /// Names and values are checked strictly (they become arguments of the server command).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Merge(IEnumerable<KeyValuePair<string, string?>>? overrides)
    {
        var merged = new SortedDictionary<string, string>(Defaults.ToDictionary(), StringComparer.Ordinal);
        foreach (var (rawName, rawValue) in overrides ?? Array.Empty<KeyValuePair<string, string?>>())
        {
            var name = rawName.Trim().ToLowerInvariant();
            if (!NameRegex().IsMatch(name))
            {
                throw HbOpsException.Invalid($"'{rawName}' is not a PostgreSQL setting name (letters, digits, '_' and '.').", rawName);
            }
            if (string.IsNullOrWhiteSpace(rawValue))
            {
                merged.Remove(name);
                continue;
            }
            var value = rawValue.Trim();
            if (!ValueRegex().IsMatch(value))
            {
                throw HbOpsException.Invalid($"The value of setting '{name}' may only contain letters, digits and '_.:+-' (got '{value}').", value);
            }
            merged[name] = value;
        }
        // wal_level=minimal is only accepted with max_wal_senders=0.
        if (merged.TryGetValue("wal_level", out var wal) && wal == "minimal" && !merged.ContainsKey("max_wal_senders")) merged["max_wal_senders"] = "0";
        return merged;
    }

    /// <summary>The container command for the settings (empty: the image's own command).</summary>
    public static IReadOnlyList<string> ToCommand(IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Count == 0) return Array.Empty<string>();
        var cmd = new List<string> { "postgres" };
        foreach (var (k, v) in settings) { cmd.Add("-c"); cmd.Add($"{k}={v}"); }
        return cmd;
    }

    /// <summary>initdb arguments that match the settings (no syncing of the new cluster when fsync is off).</summary>
    public static string InitDbArgs(IReadOnlyDictionary<string, string> settings) =>
        settings is not null && settings.TryGetValue("fsync", out var f) && f is "off" or "false" or "0" ? "--no-sync" : "";
}
