using System.Reflection;
using HbOps.Model;

namespace HbOps.Engine;

/// <summary>Facts about this engine build.</summary>
internal static class EngineInfo
{
    /// <summary>Informational version of HbOps.Engine.</summary>
    public static string Version { get; } =
        typeof(EngineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
