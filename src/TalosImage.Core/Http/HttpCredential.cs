using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Http;

/// <summary>
/// A credential for one origin (scheme, host and port): HTTP Basic (user name and password) or a bearer token. It is
/// attached by <see cref="HttpPipeline"/> to requests whose URL has exactly that origin and to no other: a redirect to
/// another host (the factory's CDN or S3 presigned URL) is followed without it (the platform's redirect handling drops
/// the Authorization header on every redirect, and <see cref="CredentialHandler"/> never sets it for another origin,
/// also on a retry of a redirected request). The secret never leaves this class but as the header value:
/// <see cref="ToString"/> and <see cref="Source"/> name where it came from, never what it is, and the secret (and the
/// header's encoded form) are registered with <see cref="SafeText.AddSecret"/> so that no output shows them.
/// </summary>
public sealed class HttpCredential : IEquatable<HttpCredential>
{
    /// <summary>The user name of a PSCredential whose password is a bearer token rather than a Basic password.</summary>
    public const string BearerUserName = "bearer";

    private readonly string _parameter;

    private HttpCredential(Uri origin, string scheme, string parameter, string source, string? userName)
    {
        Origin = origin;
        Scheme = scheme;
        _parameter = parameter;
        Source = source;
        UserName = userName;
        SafeText.AddSecret(parameter);
    }

    /// <summary>scheme://host:port the credential is sent to (and nowhere else).</summary>
    public Uri Origin { get; }

    /// <summary>"Basic" or "Bearer".</summary>
    public string Scheme { get; }

    /// <summary>The Basic user name (not secret); null for a bearer token.</summary>
    public string? UserName { get; }

    /// <summary>Where the credential came from, for messages (e.g. <c>-FactoryCredential</c>, <c>config.yaml defaults.factory_auth.bearer_token_env (TALOS_FACTORY_TOKEN)</c>). Never the value.</summary>
    public string Source { get; }

    /// <summary>HTTP Basic for <paramref name="url"/>'s origin. The user name may not hold ':' or control characters; the password may not be empty.</summary>
    public static HttpCredential Basic(string url, string userName, string password, string source)
    {
        var origin = OriginOf(url);
        if (string.IsNullOrEmpty(userName) || userName.IndexOf(':') >= 0 || HasControl(userName))
        {
            throw new TalosException(TalosErrors.FactoryCredentialInvalid,
                $"The user name of the factory credential from {source} is empty or holds ':' or a control character, which HTTP Basic cannot carry.", source);
        }
        if (string.IsNullOrEmpty(password) || HasControl(password))
        {
            throw new TalosException(TalosErrors.FactoryCredentialInvalid,
                $"The password of the factory credential from {source} is empty or holds a control character (the value is not repeated here).", source);
        }
        SafeText.AddSecret(password);
        var encoded = Convert.ToBase64String(new UTF8Encoding(false).GetBytes(userName + ":" + password));
        return new HttpCredential(origin, "Basic", encoded, source, userName);
    }

    /// <summary>A bearer token for <paramref name="url"/>'s origin. The token may not be empty or hold whitespace or control characters.</summary>
    public static HttpCredential Bearer(string url, string token, string source)
    {
        var origin = OriginOf(url);
        var t = (token ?? "").Trim();
        if (t.Length == 0 || HasControl(t) || t.IndexOf(' ') >= 0 || t.IndexOf('\t') >= 0)
        {
            throw new TalosException(TalosErrors.FactoryCredentialInvalid,
                $"The bearer token of the factory credential from {source} is empty or holds whitespace or a control character (the value is not repeated here).", source);
        }
        return new HttpCredential(origin, "Bearer", t, source, null);
    }

    /// <summary>
    /// The credential a user name and password stand for (a PSCredential): a bearer token when the user name is
    /// <see cref="BearerUserName"/> (any case), else HTTP Basic.
    /// </summary>
    public static HttpCredential FromUserPassword(string url, string userName, string password, string source) =>
        string.Equals((userName ?? "").Trim(), BearerUserName, StringComparison.OrdinalIgnoreCase)
            ? Bearer(url, password, source)
            : Basic(url, userName ?? "", password, source);

    /// <summary>True when <paramref name="uri"/> has this credential's scheme, host and port.</summary>
    public bool AppliesTo(Uri? uri) =>
        uri is not null && uri.IsAbsoluteUri &&
        string.Equals(uri.Scheme, Origin.Scheme, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(uri.IdnHost, Origin.IdnHost, StringComparison.OrdinalIgnoreCase) &&
        uri.Port == Origin.Port;

    /// <summary>The Authorization header (built only inside the engine, never shown).</summary>
    internal AuthenticationHeaderValue Header() => new(Scheme, _parameter);

    /// <summary>True when <paramref name="header"/> is this credential's.</summary>
    internal bool IsHeader(AuthenticationHeaderValue? header) =>
        header is not null && string.Equals(header.Scheme, Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(header.Parameter, _parameter, StringComparison.Ordinal);

    /// <summary>What the credential is, for messages: its kind, its source and its origin, never its value.</summary>
    public string Describe() => Scheme == "Basic"
        ? $"HTTP Basic credentials (user {SafeText.ForMessage(UserName ?? "", 100)}) from {Source}"
        : $"a bearer token from {Source}";

    public override string ToString() => $"{Describe()} for {Origin.GetLeftPart(UriPartial.Authority)}";

    public bool Equals(HttpCredential? other) =>
        other is not null && Origin == other.Origin && Scheme == other.Scheme && Source == other.Source &&
        string.Equals(_parameter, other._parameter, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as HttpCredential);

    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Origin.GetLeftPart(UriPartial.Authority)) ^ Scheme.GetHashCode();

    private static Uri OriginOf(string url)
    {
        if (!Uri.TryCreate((url ?? "").Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new TalosException(TalosErrors.InvalidFactoryUrl, $"'{url}' is not an http(s) URL of an Image Factory", url);
        }
        return new Uri(uri.GetLeftPart(UriPartial.Authority));
    }

    private static bool HasControl(string s)
    {
        foreach (var c in s)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// Sets the Authorization header of a request to its <see cref="HttpCredential"/> when the request's URL (as it is now:
/// a retried request that was redirected carries the redirect's URL) has the credential's origin, and removes it from
/// a request to any other origin. It sits between <see cref="RetryHandler"/> and the transport, so every attempt is decided anew.
/// </summary>
internal sealed class CredentialHandler : DelegatingHandler
{
    private readonly HttpCredential _credential;

    public CredentialHandler(HttpMessageHandler inner, HttpCredential credential)
        : base(inner)
    {
        _credential = credential;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_credential.AppliesTo(request.RequestUri))
        {
            request.Headers.Authorization = _credential.Header();
        }
        else if (_credential.IsHeader(request.Headers.Authorization))
        {
            // Ours, on a request that now goes elsewhere: never sent there. Another header (a caller's own) is left alone.
            request.Headers.Authorization = null;
        }
        return base.SendAsync(request, cancellationToken);
    }
}
