using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Loads HbOps.Engine and every third-party assembly (SSH.NET, Docker.DotNet, Npgsql, YamlDotNet, ...)
/// from the module's Dependencies folder into a private AssemblyLoadContext, so other modules in the
/// same session can use other versions of those libraries without conflict. On .NET 10 or later
/// (PowerShell 7.6+) the set built for .NET 10 (Dependencies/net10.0, precompiled) is used when present.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string EngineAssemblyName = "HbOps.Engine";

    private static readonly string DependencyDirectory = HbOpsLoadContext.SelectDirectory(
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies"), Environment.Version);

    private static readonly HbOpsLoadContext LoadContext = new(DependencyDirectory);

    /// <summary>Called by PowerShell when the module is imported.</summary>
    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    /// <summary>Called by PowerShell when the module is removed.</summary>
    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    // Only the engine is resolved here; the engine's own dependencies are then found by HbOpsLoadContext.
    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
        name.Name == EngineAssemblyName ? LoadContext.LoadFromAssemblyName(name) : null;
}

/// <summary>The private load context for the engine and its dependencies.</summary>
internal sealed class HbOpsLoadContext(string dependencyDirectory) : AssemblyLoadContext("HbOps.Engine")
{
    /// <summary>The build for the running runtime: Dependencies/net10.0 on .NET 10 or later when it exists, else Dependencies.</summary>
    internal static string SelectDirectory(string dependencies, Version runtime)
    {
        var net10 = Path.Combine(dependencies, "net10.0");
        return runtime.Major >= 10 && File.Exists(Path.Combine(net10, EngineFile)) ? net10 : dependencies;
    }

    private const string EngineFile = "HbOps.Engine.dll";

    /// <summary>Loads an assembly from the Dependencies folder if it is there; otherwise defers to the default context.</summary>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = Path.Combine(dependencyDirectory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
