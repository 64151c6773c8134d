namespace TalosImage.Core.Publishing;

/// <summary>What kind of failure a failed publish result is, from its ErrorId (both transports).</summary>
public static class PublishErrors
{
    public static TalosErrorKind KindOf(string? errorId) => errorId switch
    {
        "SshConnectionFailed" or "HttpConnectionFailed" => TalosErrorKind.ConnectionError,
        "RemoteDecompressorMissing" or "SshNotInstalled" or "RsyncNotInstalled" => TalosErrorKind.NotInstalled,
        "RemoteVerifyFailed" or "ProxmoxVolumeSizeMismatch" => TalosErrorKind.InvalidData,
        "ProxmoxAuthenticationFailed" or "ProxmoxPermissionDenied" => TalosErrorKind.PermissionDenied,
        "ProxmoxCertificateUntrusted" or "ProxmoxCertificatePinMismatch" => TalosErrorKind.SecurityError,
        "HttpTimeout" or "ProxmoxTaskTimeout" => TalosErrorKind.OperationTimeout,
        "RemoteMkdirFailed" or "RsyncFailed" or "RemoteRenameFailed" or "RemoteExpandFailed" => TalosErrorKind.WriteError,
        _ => TalosErrorKind.InvalidOperation,
    };
}
