using System;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;

namespace TalosImage.Core.Factory;

/// <summary>
/// Where the credential of a factory behind a login comes from: a PSCredential (<c>-FactoryCredential</c>: user name
/// <see cref="HttpCredential.BearerUserName"/> means its password is a bearer token, any other user name is HTTP Basic),
/// or config.yaml's <c>defaults.factory_auth</c>, which names the environment variables that hold the secrets. The
/// result is an <see cref="HttpCredential"/> for the factory URL's origin, which <see cref="HttpOptions.Credential"/>
/// carries to every request of the factory client and the downloader.
/// </summary>
public static class FactoryCredentials
{
    /// <summary>How -FactoryCredential is named in messages.</summary>
    public const string ParameterSource = "-FactoryCredential";

    /// <summary>The credential of a PSCredential's user name and password, for <paramref name="factoryUrl"/>.</summary>
    public static HttpCredential FromParameter(string factoryUrl, string userName, string password) =>
        HttpCredential.FromUserPassword(factoryUrl, userName, password, ParameterSource);

    /// <summary>
    /// The credential <paramref name="auth"/> (defaults.factory_auth) names, read from the environment through
    /// <paramref name="environment"/>; null when no factory_auth is configured. A variable that is not set, or empty,
    /// fails with FactoryCredentialMissing naming it (never a value).
    /// </summary>
    public static HttpCredential? FromConfig(FactoryAuthConfig? auth, string factoryUrl, Func<string, string?> environment)
    {
        if (auth is null)
        {
            return null;
        }
        if (auth.BearerTokenEnv is { Length: > 0 } tokenVariable)
        {
            var token = Read(environment, tokenVariable, "defaults.factory_auth.bearer_token_env", "bearer token");
            return HttpCredential.Bearer(factoryUrl, token, $"config.yaml defaults.factory_auth.bearer_token_env (${tokenVariable})");
        }
        if (auth.PasswordEnv is { Length: > 0 } passwordVariable)
        {
            var password = Read(environment, passwordVariable, "defaults.factory_auth.password_env", "password");
            return HttpCredential.Basic(factoryUrl, auth.Username ?? "", password, $"config.yaml defaults.factory_auth.password_env (${passwordVariable})");
        }
        return null;
    }

    /// <summary><paramref name="options"/> (or the defaults) carrying <paramref name="credential"/>; unchanged for none.</summary>
    public static HttpOptions With(HttpOptions? options, HttpCredential? credential) =>
        credential is null ? options ?? HttpOptions.Default : (options ?? HttpOptions.Default) with { Credential = credential };

    /// <summary>
    /// The HTTP options of a cmdlet that talks to <paramref name="factoryUrl"/>: <paramref name="options"/> (or the
    /// defaults) with the credential of <paramref name="credential"/> (-FactoryCredential), when one is given.
    /// </summary>
    public static HttpOptions Options(string factoryUrl, System.Net.NetworkCredential? credential, HttpOptions? options = null) =>
        With(options, credential is null ? null : FromParameter(factoryUrl, credential.UserName, credential.Password));

    private static string Read(Func<string, string?> environment, string variable, string key, string what)
    {
        var value = environment(variable);
        if (string.IsNullOrEmpty(value))
        {
            throw new TalosException(TalosErrors.FactoryCredentialMissing,
                $"config.yaml's {key} names the environment variable {variable}, which should hold the factory's {what}, but it is not set (or empty).", variable);
        }
        return value!;
    }
}
