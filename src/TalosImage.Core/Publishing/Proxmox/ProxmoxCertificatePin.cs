using System;
using System.Globalization;
using System.Linq;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// The certificate rule of one endpoint: with a pin, exactly the certificate with that SHA-256 fingerprint; without,
/// only a certificate the platform trusts. Remembers the last certificate it refused so the error can show it.
/// </summary>
internal sealed class ProxmoxCertificatePin
{
    private readonly string? _pin;
    private readonly object _gate = new();
    private (string Fingerprint, SslPolicyErrors Errors)? _refused;

    public ProxmoxCertificatePin(string? fingerprint)
    {
        _pin = fingerprint is null ? null : Parse(fingerprint);
    }

    public bool Pinned => _pin is not null;

    /// <summary>The fingerprint and policy errors of the last refused certificate, if any.</summary>
    public (string Fingerprint, SslPolicyErrors Errors)? Refused
    {
        get
        {
            lock (_gate)
            {
                return _refused;
            }
        }
    }

    public bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var fingerprint = Fingerprint(certificate);
        var accepted = _pin is not null ? string.Equals(fingerprint, _pin, StringComparison.Ordinal) : errors == SslPolicyErrors.None;
        if (!accepted)
        {
            lock (_gate)
            {
                _refused = (fingerprint, errors);
            }
        }
        return accepted;
    }

    /// <summary>SHA-256 of the DER certificate as Proxmox shows it: uppercase hex pairs joined by colons.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        using var sha = SHA256.Create();
        return Format(sha.ComputeHash(certificate.RawData));
    }

    /// <summary>
    /// Accepts <c>AA:BB:...</c>, <c>aabb...</c> or with spaces/dashes, optionally prefixed <c>sha256:</c>; returns the
    /// canonical colon form. Anything that is not 32 bytes fails with ErrorId ProxmoxFingerprintInvalid.
    /// </summary>
    public static string Parse(string fingerprint)
    {
        var text = fingerprint.Trim();
        if (text.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase) || text.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            text = text.Substring(7);
        }
        var hex = new string(text.Where(c => c is not (':' or ' ' or '-')).ToArray());
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw new TalosException(TalosErrors.ProxmoxFingerprintInvalid,
                $"'{fingerprint}' is not a SHA-256 certificate fingerprint: expected 32 bytes as hex, e.g. AB:CD:... (64 hex digits). " +
                "The node shows it under System > Certificates, or run `pvenode cert info` on it.");
        }
        var bytes = new byte[32];
        for (var i = 0; i < 32; i++)
        {
            bytes[i] = byte.Parse(hex.Substring(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return Format(bytes);
    }

    private static string Format(byte[] hash)
    {
        var sb = new StringBuilder(hash.Length * 3);
        foreach (var b in hash)
        {
            if (sb.Length > 0)
            {
                sb.Append(':');
            }
            sb.Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
