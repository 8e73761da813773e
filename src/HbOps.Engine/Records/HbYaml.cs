using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using YamlDotNet.Serialization.TypeInspectors;

namespace HbOps.Engine.Records;

/// <summary>
/// The one YAML dialect HbOps writes and reads: camelCase keys, nulls kept so a record shows what was
/// not observed, and only settable properties (derived values are recomputed on load, never stored twice).
/// </summary>
public static class HbYaml
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
                $"Malformed YAML at line {ex.Start.Line}: {ex.Message}", null, null, ex);
        }
    }

    private sealed class SettablePropertiesOnly(ITypeInspector inner) : TypeInspectorSkeleton
    {
        public override IEnumerable<IPropertyDescriptor> GetProperties(Type type, object? container) =>
            inner.GetProperties(type, container).Where(p => p.CanWrite);

        public override string GetEnumName(Type enumType, string name) => inner.GetEnumName(enumType, name);

        public override string GetEnumValue(object enumValue) => inner.GetEnumValue(enumValue);
    }
}
