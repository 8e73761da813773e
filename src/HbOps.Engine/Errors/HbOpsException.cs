using HbOps.Model;
namespace HbOps.Engine.Errors;

/// <summary>Coarse error category, mapped one-to-one onto PowerShell's ErrorCategory by the cmdlets.</summary>
public enum HbErrorCategory
{
    /// <summary>Bad parameter value.</summary>
    InvalidArgument,
    /// <summary>Something named does not exist.</summary>
    ObjectNotFound,
    /// <summary>Could not connect.</summary>
    ConnectionError,
    /// <summary>Authentication or trust failure.</summary>
    SecurityError,
    /// <summary>Precondition not met (e.g. disk space, collision).</summary>
    ResourceUnavailable,
    /// <summary>An operation ran and failed.</summary>
    OperationFailed,
    /// <summary>Input data is inconsistent (e.g. checksum mismatch).</summary>
    InvalidData,
    /// <summary>Stopped by the user.</summary>
    OperationStopped,
    /// <summary>Refused for safety.</summary>
    PermissionDenied,
}

/// <summary>
/// The single error contract of the engine: every failure the engine reports carries a stable
/// <see cref="ErrorId"/>, a category, the object it concerns and what the operator can do about it.
/// Messages never contain secrets.
/// </summary>
public sealed class HbOpsException : Exception
{
    /// <summary>Creates an error.</summary>
    public HbOpsException(string errorId, HbErrorCategory category, string message, object? target = null,
        string? recommendedAction = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
        RecommendedAction = recommendedAction;
    }

    /// <summary>Stable identifier from <see cref="HbErrorIds"/>.</summary>
    public string ErrorId { get; }

    /// <summary>Category.</summary>
    public HbErrorCategory Category { get; }

    /// <summary>What the error is about (a name, path or object).</summary>
    public object? Target { get; }

    /// <summary>What the operator should do.</summary>
    public string? RecommendedAction { get; }

    /// <summary>Shorthand for an invalid argument.</summary>
    public static HbOpsException Invalid(string message, object? target = null) =>
        new(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument, message, target);
}
