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
}

/// <summary>
/// An engine failure with a stable <see cref="ErrorId"/> (used as the ErrorRecord's FullyQualifiedErrorId),
/// a kind and, where there is one, the object it concerns. Messages never carry secrets: the message and a target
/// text go through <see cref="SafeText.Redact"/> (known tokens, fragments of them at the edges, URL user info).
/// </summary>
public class TalosException : Exception
{
    public TalosException(string errorId, TalosErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(SafeText.Redact(message), inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target is string text ? SafeText.Redact(text) : target;
    }

    public string ErrorId { get; }

    public TalosErrorKind Kind { get; }

    public object? Target { get; }
}
