using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace HbOps.Engine.Records;

/// <summary>The one YAML dialect HbOps writes and reads (camelCase keys, nulls kept so a record shows what was not observed).</summary>
public static class HbYaml
{
    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
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
    public static T Deserialize<T>(string yaml) => Deserializer.Deserialize<T>(yaml);
}
