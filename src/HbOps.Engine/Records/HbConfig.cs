using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>
/// The operator's target file (YAML), e.g. <c>~/.config/hbops/hbops.yml</c>:
/// <code>
/// targets:
///   contabo-directus:
///     sshHost: contabo
///     container: postgres
///     database: directus
///     user: directus
///     backupRoot: /var/backups/hbops
///     tag: hb
///     keyTables: [public.dot_tools]
/// </code>
/// </summary>
public sealed class HbConfig
{
    /// <summary>Targets by name.</summary>
    public Dictionary<string, HbTarget> Targets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Where the config is looked for: the given path, $HBOPS_CONFIG, then ~/.config/hbops/hbops.yml.</summary>
    public static string ResolvePath(string? path) =>
        path ?? Environment.GetEnvironmentVariable("HBOPS_CONFIG") ??
        System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "hbops", "hbops.yml");

    /// <summary>Loads a config file.</summary>
    public static HbConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new HbOpsException(HbErrorIds.ConfigInvalid, HbErrorCategory.ObjectNotFound,
                $"The HbOps config '{path}' does not exist.", path, "Create it, pass -ConfigPath, or set HBOPS_CONFIG.");
        }
        var config = HbYaml.Deserialize<HbConfig>(File.ReadAllText(path)) ?? new HbConfig();
        config.Targets = new Dictionary<string, HbTarget>(config.Targets ?? new(), StringComparer.OrdinalIgnoreCase);
        return config;
    }

    /// <summary>Finds a target by name.</summary>
    public HbTarget Get(string name, string path)
    {
        if (!Targets.TryGetValue(name, out var t))
        {
            throw new HbOpsException(HbErrorIds.TargetNotFound, HbErrorCategory.ObjectNotFound,
                $"Target '{name}' is not defined in '{path}' (defined: {string.Join(", ", Targets.Keys.Order(StringComparer.OrdinalIgnoreCase))}).", name,
                "Check the name or add it under 'targets:'.");
        }
        return t;
    }
}
