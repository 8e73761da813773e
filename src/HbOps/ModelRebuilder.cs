using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Rebuilds HbOps result objects that lost their .NET type on a round trip — read back with Import-Clixml, received from
/// Start-Job/Receive-Job or a remote session (<c>Deserialized.HbOps.Model.*</c>), or rebuilt by ConvertFrom-Json (plain
/// property bags) — into the typed objects the cmdlets take, by property name.
/// </summary>
internal static class ModelRebuilder
{
    private const string ModelNamespace = "HbOps.Model.";
    private const string DeserializedPrefix = "Deserialized.";

    // Properties every object of a type carries and that together tell it apart from the other HbOps types, for property
    // bags that carry no type name (ConvertFrom-Json, hashtables).
    private static readonly (Type Type, string[] Keys)[] Shapes =
    {
        (typeof(HbRestoreTestResult), new[] { "Result", "Artefact", "Sandbox", "ChecksumVerified" }),
        (typeof(HbBackupArtefact), new[] { "Path", "Sha256", "ManifestPath", "RunFolder", "Host" }),
        (typeof(HbSandboxRemoval), new[] { "Name", "VolumeName", "Status", "ContainersRemaining", "Host" }),
        (typeof(HbSandbox), new[] { "Name", "VolumeName", "ContainerId", "IsolationVerified", "Host" }),
        (typeof(HbRowCountComparison), new[] { "Schema", "Table", "Reference", "Difference", "Match" }),
    };

    /// <summary>The types <see cref="TryRebuildAny"/> recognises.</summary>
    internal static IEnumerable<Type> KnownTypes => Shapes.Select(s => s.Type);

    /// <summary>
    /// <paramref name="input"/> as a <paramref name="type"/>: itself when it already is one, rebuilt when it is a property bag
    /// of that type (by its type names, or by its shape when it has none); false when it is something else. Throws
    /// <see cref="InvalidDataException"/> when it is one but a nested object was flattened to text.
    /// </summary>
    internal static bool TryRebuild(object? input, Type type, out object? result)
    {
        ArgumentNullException.ThrowIfNull(type);
        result = null;
        if (input is null) return false;
        var baseObject = input is PSObject pso ? pso.BaseObject : input;
        if (type.IsInstanceOfType(baseObject))
        {
            result = baseObject;
            return true;
        }
        if (!IsBag(input, baseObject) || !IsOfType(input, type)) return false;
        result = Build(type, input, type.Name);
        return true;
    }

    /// <summary>Any of the <see cref="KnownTypes"/> <paramref name="input"/> is or was.</summary>
    internal static bool TryRebuildAny(object? input, out object? result)
    {
        foreach (var type in KnownTypes)
        {
            if (TryRebuild(input, type, out result)) return true;
        }
        result = null;
        return false;
    }

    private static bool IsBag(object input, object baseObject) =>
        baseObject is PSCustomObject || (input is PSObject && baseObject is PSObject) || baseObject is IDictionary;

    private static bool IsOfType(object input, Type type)
    {
        var names = input is PSObject p ? p.TypeNames : (IList<string>)Array.Empty<string>();
        var hbNames = names.Select(n => n.StartsWith(DeserializedPrefix, StringComparison.Ordinal) ? n[DeserializedPrefix.Length..] : n)
            .Where(n => n.StartsWith(ModelNamespace, StringComparison.Ordinal)).ToList();
        if (hbNames.Count > 0) return hbNames.Contains(type.FullName!, StringComparer.Ordinal);
        var shape = Shapes.FirstOrDefault(s => s.Type == type).Keys;
        return shape is not null && shape.All(k => HasMember(input, k));
    }

    private static bool HasMember(object bag, string name) => bag switch
    {
        PSObject p when p.BaseObject is IDictionary d => d.Contains(name) || d.Keys.Cast<object>().Any(k => string.Equals(k?.ToString(), name, StringComparison.OrdinalIgnoreCase)),
        PSObject p => p.Properties[name] is not null,
        IDictionary d => d.Keys.Cast<object>().Any(k => string.Equals(k?.ToString(), name, StringComparison.OrdinalIgnoreCase)),
        _ => false,
    };

    private static bool TryGetMember(object bag, string name, out object? value)
    {
        value = null;
        var dict = bag is PSObject { BaseObject: IDictionary pd } ? pd : bag as IDictionary;
        if (dict is not null)
        {
            foreach (DictionaryEntry e in dict)
            {
                if (string.Equals(e.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                {
                    value = e.Value;
                    return true;
                }
            }
            return false;
        }
        if (bag is PSObject p && p.Properties[name] is { } prop)
        {
            value = prop.Value;
            return true;
        }
        return false;
    }

    private static object Build(Type type, object bag, string path)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0) continue;
            if (!TryGetMember(bag, property.Name, out var value)) continue;
            var converted = Convert(value, property.PropertyType, path + "." + property.Name);
            if (converted is null && property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null) continue;
            if (converted is null && !IsNullable(property)) continue;
            property.SetValue(instance, converted);
        }
        return instance;
    }

    private static bool IsNullable(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null ||
        new NullabilityInfoContext().Create(property).WriteState != NullabilityState.NotNull;

    private static object? Convert(object? value, Type type, string path)
    {
        if (value is PSObject pso && pso.BaseObject is not PSCustomObject) value = pso.BaseObject;
        if (value is null) return null;
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsInstanceOfType(value) && value is not PSObject) return value;
        if (target.IsClass && target.Namespace == "HbOps.Model" && target.GetConstructor(Type.EmptyTypes) is not null)
        {
            if (value is string or ValueType) throw Flattened(path, value);
            return Build(target, value, path);
        }
        if (target.IsGenericType && target.GetGenericTypeDefinition() == typeof(List<>))
        {
            if (value is string || value is not IEnumerable items) throw Flattened(path, value);
            var element = target.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(target)!;
            var i = 0;
            foreach (var item in items) list.Add(Convert(item, element, $"{path}[{i++}]"));
            return list;
        }
        if (target.IsEnum)
        {
            var text = System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            if (Enum.TryParse(target, text, ignoreCase: true, out var parsed) && Enum.IsDefined(target, parsed!)) return parsed;
            throw new InvalidDataException($"{path}: '{text}' is not one of {string.Join(", ", Enum.GetNames(target))}.");
        }
        if (target == typeof(DateTime))
        {
            return value switch
            {
                DateTime d => d,
                DateTimeOffset o => o.UtcDateTime,
                _ => DateTime.Parse(System.Convert.ToString(value, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            };
        }
        try
        {
            return LanguagePrimitives.ConvertTo(value, target, CultureInfo.InvariantCulture);
        }
        catch (PSInvalidCastException ex)
        {
            throw new InvalidDataException($"{path}: '{value}' is not a valid {target.Name}.", ex);
        }
    }

    private static InvalidDataException Flattened(string path, object value) =>
        new($"{path} arrived as the text '{value}' instead of an object: it was serialized too shallowly. " +
            "Write it with Export-Clixml (HbOps objects keep their depth) or ConvertTo-Json -Depth 10, then read it back.");
}

/// <summary>
/// On a parameter of an HbOps result type: accepts that object after a round trip (Import-Clixml, Receive-Job,
/// ConvertFrom-Json) by rebuilding it from its properties; anything else is passed on for PowerShell to bind or reject.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class HbModelTransformationAttribute(Type type) : ArgumentTransformationAttribute
{
    /// <summary>The HbOps type the parameter takes.</summary>
    public Type Type { get; } = type;

    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        try
        {
            return ModelRebuilder.TryRebuild(inputData, Type, out var rebuilt) ? rebuilt : inputData;
        }
        catch (InvalidDataException ex)
        {
            throw new ArgumentTransformationMetadataException($"Cannot rebuild the {Type.Name} from its properties: {ex.Message}", ex);
        }
    }
}
