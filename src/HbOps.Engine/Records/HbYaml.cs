using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using YamlDotNet.Serialization.TypeInspectors;

namespace HbOps.Engine.Records;

/// <summary>
/// The one YAML dialect HbOps writes and reads: camelCase keys, nulls kept so a record shows what was
/// not observed, and only settable properties (derived values are recomputed on load, never stored twice).
/// </summary>
internal static class HbYaml
{
    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithTypeInspector(inner => new SettablePropertiesOnly(inner))
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve)
        .DisableAliases()
        .Build();

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>Serializes an object graph.</summary>
    public static string Serialize(object value) => Serializer.Serialize(value);

    /// <summary>Deserializes YAML text.</summary>
    public static T Deserialize<T>(string yaml)
    {
        try
        {
            return Deserializer.Deserialize<T>(yaml);
        }
        catch (YamlException ex)
        {
            throw new Errors.HbOpsException(Errors.HbErrorIds.ConfigInvalid, Errors.HbErrorCategory.InvalidData,
                Describe(ex, yaml), null, null, ex);
        }
    }

    /// <summary>
    /// An operator's account of a YAML error: the line, the key on it, and what is wrong in words; YamlDotNet's own messages
    /// name .NET types ("System.Int64, System.Private.CoreLib, Version=...") or say only "Exception during deserialization".
    /// </summary>
    internal static string Describe(YamlException ex, string yaml)
    {
        var line = (int)Math.Max(1, ex.Start.Line);
        var text = yaml.Split('\n').ElementAtOrDefault(line - 1)?.Trim() ?? "";
        var key = Regex.Match(text, @"^-?\s*([A-Za-z0-9_]+)\s*:");
        var where = key.Success ? $"line {line} ('{key.Groups[1].Value}')" : $"line {line}";
        var value = key.Success ? text[(key.Index + key.Length)..].Trim() : text;
        string reason;
        if (ex.InnerException is FormatException or OverflowException or ArgumentException && value.Length > 0)
        {
            reason = $"'{value}' is not a valid value here";
        }
        else if (ex.Message.Contains("No node deserializer", StringComparison.Ordinal) || ex.Message.Contains("Expected '", StringComparison.Ordinal))
        {
            reason = "the value has the wrong shape (e.g. a list or mapping where a single value belongs, or the reverse)";
        }
        else
        {
            // Parser errors ("did not find expected ',' or ']'") are already in words; drop the position prefix and type names.
            reason = Regex.Replace(ex.Message, @"^\(Line: .*?\):\s*", "");
            reason = Regex.Replace(reason, @"[\w.`+\[\]]+, [\w.]+, Version=[^,]+, Culture=[^,]+, PublicKeyToken=\w+", "a value");
            if (reason.Length == 0 || reason.StartsWith("Exception during deserialization", StringComparison.Ordinal)) reason = "the value cannot be read";
        }
        return $"Malformed YAML at {where}: {reason}.".Replace("..", ".", StringComparison.Ordinal);
    }

    private sealed class SettablePropertiesOnly(ITypeInspector inner) : TypeInspectorSkeleton
    {
        // A property marked [IgnoreDataMember] has a compact recorded form in another property (e.g. a catalog's objects
        // as one line each): writing both would record it twice and slow every listing that parses it.
        public override IEnumerable<IPropertyDescriptor> GetProperties(Type type, object? container) =>
            inner.GetProperties(type, container).Where(p => p.CanWrite && p.GetCustomAttribute<System.Runtime.Serialization.IgnoreDataMemberAttribute>() is null);

        public override string GetEnumName(Type enumType, string name) => inner.GetEnumName(enumType, name);

        public override string GetEnumValue(object enumValue) => inner.GetEnumValue(enumValue);
    }
}
