using System;
using System.Runtime.InteropServices;
using System.Security;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// A Proxmox VE API token, <c>USER@REALM!TOKENID=SECRET</c>. The secret stays private: <see cref="ToString"/> and
/// every message show <c>USER@REALM!TOKENID=***</c>, and the Authorization header value is built only inside the engine.
/// </summary>
public sealed class ProxmoxApiToken
{
    // User names exclude whitespace, ':' and '/'; realms and token ids start with a letter (pve-access-control).
    private static readonly Regex Shape = new(
        @"^(?<id>[^\s:/@!=]+@[A-Za-z][A-Za-z0-9._-]*![A-Za-z][A-Za-z0-9._-]*)=(?<secret>[^\s]+)$",
        RegexOptions.CultureInvariant);

    private const string HeaderPrefix = "PVEAPIToken=";

    /// <summary>The environment variable that holds the token when nothing else names one (Publish-TalosImage, an orders file's <c>token_env</c> default).</summary>
    public const string DefaultVariable = "PROXMOX_API_TOKEN";

    private readonly string _secret;

    private ProxmoxApiToken(string tokenId, string secret)
    {
        TokenId = tokenId;
        _secret = secret;
        SafeText.AddSecret(secret);
    }

    /// <summary>The token's id, <c>USER@REALM!TOKENID</c> (not secret).</summary>
    public string TokenId { get; }

    /// <summary>
    /// Parses <c>USER@REALM!TOKENID=SECRET</c> (a leading <c>PVEAPIToken=</c>, as in a copied header, is accepted).
    /// A malformed value fails with ErrorId ProxmoxTokenInvalid; the message never repeats the value.
    /// </summary>
    public static ProxmoxApiToken Parse(string value)
    {
        var text = (value ?? "").Trim();
        if (text.StartsWith(HeaderPrefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text.Substring(HeaderPrefix.Length);
        }
        var match = Shape.Match(text);
        if (!match.Success)
        {
            throw new TalosException(TalosErrors.ProxmoxTokenInvalid,
                "The Proxmox API token is not of the form USER@REALM!TOKENID=SECRET (for example root@pam!talos=<uuid>; " +
                "Datacenter > Permissions > API Tokens shows the id, the secret is shown once when the token is created). " +
                "The value given is not repeated here.");
        }
        return new ProxmoxApiToken(match.Groups["id"].Value, match.Groups["secret"].Value);
    }

    /// <summary>
    /// Reads the token from the environment variable <paramref name="variableName"/>. A missing or empty variable fails
    /// with ErrorId ProxmoxTokenMissing naming the variable; a malformed value with ProxmoxTokenInvalid.
    /// </summary>
    public static ProxmoxApiToken FromEnvironment(string variableName) => FromEnvironment(variableName, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="FromEnvironment(string)"/>, reading variables through <paramref name="lookup"/> (a run's environment).</summary>
    public static ProxmoxApiToken FromEnvironment(string variableName, Func<string, string?> lookup)
    {
        if (string.IsNullOrWhiteSpace(variableName))
        {
            throw new TalosException(TalosErrors.ProxmoxTokenMissing, "No environment variable was named for the Proxmox API token.");
        }
        var value = lookup(variableName);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new TalosException(TalosErrors.ProxmoxTokenMissing,
                $"The environment variable {variableName} that should hold the Proxmox API token (USER@REALM!TOKENID=SECRET) is not set.", variableName);
        }
        try
        {
            return Parse(value!);
        }
        catch (TalosException e)
        {
            throw new TalosException(TalosErrors.Get(e.ErrorId, e.Kind), $"Environment variable {variableName}: {e.Message}", variableName);
        }
    }

    /// <summary>
    /// The token from exactly one source, in this order: <paramref name="apiToken"/>, a credential
    /// (<paramref name="credentialUser"/> = USER@REALM!TOKENID, <paramref name="credentialPassword"/> = SECRET), else the
    /// environment variable <paramref name="variableName"/>. Both a token and a credential: ErrorId ProxmoxTokenAmbiguous.
    /// </summary>
    public static ProxmoxApiToken Resolve(SecureString? apiToken, string? credentialUser, SecureString? credentialPassword,
        string variableName, Func<string, string?>? environment = null)
    {
        EnsureOneSource(apiToken, credentialPassword);
        return apiToken is not null
            ? FromSecureString(apiToken)
            : credentialPassword is not null
                ? FromCredential(credentialUser ?? "", credentialPassword)
                : FromEnvironment(variableName, environment ?? Environment.GetEnvironmentVariable);
    }

    /// <summary>Fails with ErrorId ProxmoxTokenAmbiguous when both a token and a credential are given. Reads no secret.</summary>
    public static void EnsureOneSource(SecureString? apiToken, SecureString? credentialPassword)
    {
        if (apiToken is not null && credentialPassword is not null)
        {
            throw new TalosException(TalosErrors.ProxmoxTokenAmbiguous, "Give the Proxmox API token once: -ApiToken or -Credential, not both.");
        }
    }

    /// <summary>The whole token <c>USER@REALM!TOKENID=SECRET</c> held in a SecureString.</summary>
    public static ProxmoxApiToken FromSecureString(SecureString value) => Parse(Reveal(value));

    /// <summary>
    /// A token from a credential: <paramref name="tokenId"/> is <c>USER@REALM!TOKENID</c> (a PSCredential's UserName),
    /// <paramref name="secret"/> the token secret (its Password).
    /// </summary>
    public static ProxmoxApiToken FromCredential(string tokenId, SecureString secret) => Parse((tokenId ?? "").Trim() + "=" + Reveal(secret));

    /// <summary>The Authorization header value. Internal: nothing outside the engine's HTTP calls needs the secret.</summary>
    internal string AuthorizationHeaderValue => HeaderPrefix + TokenId + "=" + _secret;

    /// <summary><paramref name="text"/> with the secret, should it appear (a server echoing a header), replaced by ***.</summary>
    internal string Scrub(string text) => SafeText.Redact(text, _secret);

    /// <summary><c>USER@REALM!TOKENID=***</c>.</summary>
    public override string ToString() => TokenId + "=***";

    private static string Reveal(SecureString value)
    {
        if (value is null)
        {
            return "";
        }
        var ptr = IntPtr.Zero;
        try
        {
            ptr = Marshal.SecureStringToGlobalAllocUnicode(value);
            return Marshal.PtrToStringUni(ptr) ?? "";
        }
        finally
        {
            if (ptr != IntPtr.Zero)
            {
                Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }
    }
}
