using System;

namespace TalosImage.Core;

/// <summary>What kind of failure an engine error is; the cmdlets map it onto PowerShell's ErrorCategory.</summary>
public enum TalosErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ConnectionError,
    ProtocolError,
    PermissionDenied,
    ResourceUnavailable,
    OperationTimeout,
    OperationStopped,
    NotInstalled,
    WriteError,
    SecurityError,
    InvalidOperation,
    /// <summary>Not classified: the cmdlets' TalosImage.UnexpectedError for an exception that is no TalosException.</summary>
    NotSpecified,
}

/// <summary>
/// An engine failure with a stable <see cref="ErrorId"/> (used as the ErrorRecord's FullyQualifiedErrorId), a kind and,
/// where there is one, the object it concerns. The id and the kind come from one entry of the catalogue
/// (<see cref="TalosErrors"/>). Messages never carry secrets: the message and a target text go through
/// <see cref="SafeText.Redact"/> (known tokens, fragments of them at the edges, URL user info).
/// </summary>
public class TalosException : Exception
{
    public TalosException(TalosError error, string message, object? target = null, Exception? inner = null)
        : base(SafeText.Redact(message), inner)
    {
        Error = error ?? throw new ArgumentNullException(nameof(error));
        Target = target is string text ? SafeText.Redact(text) : target;
    }

    /// <summary>The catalogue entry: id, kind, meaning.</summary>
    public TalosError Error { get; }

    public string ErrorId => Error.Id;

    public TalosErrorKind Kind => Error.Kind;

    public object? Target { get; }

    /// <summary>True when this is one of <paramref name="errors"/> (by id).</summary>
    public bool Is(params TalosError[] errors)
    {
        foreach (var e in errors)
        {
            if (string.Equals(e.Id, ErrorId, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}
