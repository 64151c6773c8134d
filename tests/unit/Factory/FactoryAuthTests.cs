using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>
/// Issue 17, "The factory behind a login": HTTP Basic and bearer credentials reach the factory's own origin only (not
/// its CDN on another port, not the GitHub API), a refused credential has its own ErrorId naming its source and never
/// its value, URLs with user info stay refused with the password masked, and config.yaml's defaults.factory_auth names
/// environment variables only.
/// </summary>
public sealed class FactoryAuthTests : IAsyncLifetime, IDisposable
{
    private const string User = "alice";
    private const string Password = "pw-Zq81xKc7Lm";
    private const string Token = "tok_9f8e7d6c5b4a39281706f5e4";
    private static readonly byte[] Iso = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 13 + 1)).ToArray();

    private readonly TempDir _dir = new();
    private readonly RecordingEvents _events = new();
    private FakeImageFactory _factory = null!;

    public async Task InitializeAsync()
    {
        _factory = await FakeImageFactory.StartAsync();
        _factory.Images = (_, _, asset) => asset == "metal-amd64.iso" ? Iso : null;
        await _factory.StartCdnAsync();
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private HttpOptions With(HttpCredential? credential) => FactoryCredentials.With(FastHttp.Options, credential);

    private ArtifactRequest Request(string schematic) => new()
    {
        SchematicId = schematic, Version = "v1.11.5", Platform = "metal", Architecture = "amd64", Format = "iso", FactoryUrl = _factory.BaseUrl,
    };

    private async Task<TalosArtifact> CreateAndSaveAsync(HttpOptions http)
    {
        var schematic = await new FactoryClient(_factory.BaseUrl, http).CreateSchematicAsync(new Schematic(), CancellationToken.None);
        var stage = new SaveStage(Cache, _events, http);
        return (await stage.RunAsync(stage.Plan(Request(schematic.SchematicId)), CancellationToken.None)).Artifact;
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("bearer")]
    public async Task The_credential_reaches_the_factory_and_never_the_cdn_it_redirects_to(string kind)
    {
        var credential = kind == "basic"
            ? FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password)
            : FactoryCredentials.FromParameter(_factory.BaseUrl, "Bearer", Token);
        _factory.RequiredAuthorization = kind == "basic" ? FakeImageFactory.BasicHeader(User, Password) : "Bearer " + Token;
        _factory.RedirectToCdn = true;

        var artifact = await CreateAndSaveAsync(With(credential));

        Assert.Equal(Iso, File.ReadAllBytes(artifact.Path));
        Assert.Equal(1, _factory.Count("POST", "/schematics"));
        Assert.All(_factory.Log, s => Assert.Equal(_factory.RequiredAuthorization, s.Authorization));
        var cdn = Assert.Single(_factory.CdnLog);
        Assert.StartsWith("/cdn/", cdn.Path);
        Assert.Null(cdn.Authorization); // another port is another origin: followed without the header
        Assert.Equal("local", artifact.HashSource);
    }

    [Fact]
    public async Task A_credential_is_never_sent_to_another_origin_even_on_the_same_client()
    {
        var credential = FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password);
        var client = HttpPipeline.Create(null, With(credential));
        using var response = await client.GetAsync(_factory.CdnUrl + "/cdn/nothing");
        Assert.Equal(404, (int)response.StatusCode);
        Assert.Null(Assert.Single(_factory.CdnLog).Authorization);
        Assert.False(credential.AppliesTo(new Uri(_factory.CdnUrl!)));
        Assert.False(credential.AppliesTo(new Uri(_factory.BaseUrl.Replace("http://", "https://"))));
        Assert.True(credential.AppliesTo(new Uri(_factory.BaseUrl + "/image/x")));
    }

    [Fact]
    public async Task The_factory_credential_is_not_given_to_the_github_api_on_the_same_host()
    {
        _factory.Releases = FakeImageFactory.ReleasesOf("v1.11.4", "v1.11.5");
        _factory.RequiredToken = "ghp_FactoryAuthTokenZqXwTrMnBvKjLp";
        var resolver = new VersionResolver(new VersionSourceOptions
        {
            Source = "github",
            GitHubApiUrl = _factory.BaseUrl,
            GitHubToken = _factory.RequiredToken,
            Http = With(FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password)),
            Ttl = TimeSpan.Zero,
        }, _events);
        var v = await resolver.ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.Equal("v1.11.5", v.Version);
        Assert.NotEmpty(_factory.Log);
        Assert.All(_factory.Log, s => Assert.Equal("Bearer " + _factory.RequiredToken, s.Authorization));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task A_refused_credential_has_its_own_error_id_naming_the_source_and_never_the_secret(int status)
    {
        _factory.RequiredAuthorization = FakeImageFactory.BasicHeader(User, "the-right-password");
        _factory.AuthFailureStatus = status;
        var e = await Assert.ThrowsAsync<TalosException>(() => CreateAndSaveAsync(With(FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password))));

        Assert.Equal(TalosErrors.FactoryAuthenticationFailed.Id, e.ErrorId);
        Assert.Equal(TalosErrorKind.PermissionDenied, e.Kind);
        Assert.Contains("-FactoryCredential", e.Message);
        Assert.Contains("user alice", e.Message);
        Assert.Contains(status.ToString(), e.Message);
        var sent = FakeImageFactory.BasicHeader(User, Password)["Basic ".Length..];
        foreach (var text in new[] { e.Message, e.ToString() })
        {
            Assert.DoesNotContain(Password, text);
            Assert.DoesNotContain(sent, text); // the server echoed the header: masked
        }
    }

    [Fact]
    public async Task Without_a_credential_a_login_factory_still_answers_Http401()
    {
        _factory.RequiredAuthorization = "Bearer " + Token;
        var e = await Assert.ThrowsAsync<TalosException>(() => CreateAndSaveAsync(FastHttp.Options));
        Assert.Equal("Http401", e.ErrorId);
        Assert.All(_factory.Log, s => Assert.Null(s.Authorization));
    }

    [Fact]
    public async Task A_refused_bearer_token_of_GET_versions_keeps_its_error_id_through_the_resolver()
    {
        _factory.RequiredAuthorization = "Bearer right-token-0123456789";
        var resolver = new VersionResolver(new VersionSourceOptions
        {
            Source = "factory",
            FactoryUrl = _factory.BaseUrl,
            Http = With(FactoryCredentials.FromParameter(_factory.BaseUrl, "bearer", Token)),
            Ttl = TimeSpan.Zero,
        }, _events);
        var e = await Assert.ThrowsAsync<TalosException>(() => resolver.ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        Assert.Equal(TalosErrors.FactoryAuthenticationFailed.Id, e.ErrorId);
        Assert.Contains("a bearer token from -FactoryCredential", e.Message);
        Assert.DoesNotContain(Token, e.ToString());
    }

    [Theory]
    [InlineData("al:ice", "password-1234")]
    [InlineData("alice", "")]
    [InlineData("bearer", "two words")]
    [InlineData("bearer", "line\nbreak-0123456789")]
    public void A_credential_that_cannot_be_sent_is_refused_without_repeating_it(string user, string password)
    {
        var e = Assert.Throws<TalosException>(() => FactoryCredentials.FromParameter(_factory.BaseUrl, user, password));
        Assert.Equal(TalosErrors.FactoryCredentialInvalid.Id, e.ErrorId);
        if (password.Length > 0)
        {
            Assert.DoesNotContain(password, e.Message);
        }
    }

    [Fact]
    public void A_factory_url_with_user_info_stays_refused_with_the_password_masked()
    {
        var url = _factory.BaseUrl.Replace("http://", "http://carol:s3cret-Pw-77@");
        var client = Assert.Throws<TalosException>(() => new FactoryClient(url));
        Assert.Equal(TalosErrors.InvalidFactoryUrl.Id, client.ErrorId);
        var request = Assert.Throws<TalosException>(() => (Request(new string('a', 64)) with { FactoryUrl = url }).Normalise());
        Assert.Equal(TalosErrors.InvalidArtifactRequest.Id, request.ErrorId);
        foreach (var e in new[] { client, request })
        {
            Assert.Contains("user name or password", e.Message);
            Assert.DoesNotContain("s3cret-Pw-77", e.ToString());
            Assert.DoesNotContain("carol", e.Message);
        }
        Assert.Empty(_factory.Log);
    }

    [Fact]
    public void The_credential_describes_itself_without_its_value()
    {
        var basic = FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password);
        var bearer = FactoryCredentials.FromParameter(_factory.BaseUrl, "BEARER", Token);
        var options = With(basic);
        foreach (var text in new[] { basic.ToString(), bearer.ToString(), options.ToString() })
        {
            Assert.DoesNotContain(Password, text);
            Assert.DoesNotContain(Token, text);
        }
        Assert.Equal("Basic", basic.Scheme);
        Assert.Equal("Bearer", bearer.Scheme);
        // Equal credentials give equal options, so the pipeline's shared client is reused.
        Assert.Equal(options, With(FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password)));
        Assert.NotEqual(options, With(FactoryCredentials.FromParameter(_factory.BaseUrl, User, Password + "x")));
    }

    // ------------------------------------------------------------------------------------- config.yaml and runs

    private string Config(string auth) => _dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {Cache}
          factory_url: {_factory.BaseUrl}
          version_cache_ttl: 0
        {auth}
        manifest:
          dir: {_dir.File("manifests")}
        """);

    private string Orders() => _dir.Write("orders.yaml", """
        orders:
          - orderid: AUTH-1
            customer: Login Lab
            positions:
              - name: iso
                product: talos
                platform: metal
                version: v1.11.5
                customization: {}
        """);

    private Task<RunResult> RunAsync(string config, IDictionary<string, string> env, System.Net.NetworkCredential? credential = null) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = Orders(),
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            FactoryCredential = credential,
            Environment = n => env.TryGetValue(n, out var v) ? v : null,
        }, _events).RunAsync(CancellationToken.None);

    [Fact]
    public async Task An_order_run_reads_the_bearer_token_from_the_variable_config_yaml_names()
    {
        _factory.RequiredAuthorization = "Bearer " + Token;
        _factory.RedirectToCdn = true;
        _factory.Checksums = FakeImageFactory.ChecksumMode.Sha256;
        var config = Config("  factory_auth:\n    bearer_token_env: LAB_FACTORY_TOKEN");
        Assert.DoesNotContain(Token, File.ReadAllText(config));

        var result = await RunAsync(config, new Dictionary<string, string> { ["LAB_FACTORY_TOKEN"] = Token });

        Assert.Equal(0, result.ExitCode);
        Assert.All(_factory.Log, s => Assert.Equal("Bearer " + Token, s.Authorization));
        Assert.Null(Assert.Single(_factory.CdnLog).Authorization);
        var manifest = File.ReadAllText(Directory.GetFiles(_dir.File("manifests")).Single());
        Assert.Contains("hash_source: factory-sha256", manifest);
        Assert.DoesNotContain(Token, manifest);
        Assert.Contains(_events.Verbose, v => v.Contains("a bearer token from config.yaml defaults.factory_auth.bearer_token_env ($LAB_FACTORY_TOKEN)"));
    }

    [Fact]
    public async Task An_order_run_with_Basic_from_config_and_a_parameter_that_wins_over_it()
    {
        _factory.RequiredAuthorization = FakeImageFactory.BasicHeader("bob", "param-password-1");
        var config = Config("  factory_auth:\n    username: carol\n    password_env: LAB_FACTORY_PASSWORD");
        var env = new Dictionary<string, string> { ["LAB_FACTORY_PASSWORD"] = "config-password-2" };

        var refused = await RunAsync(config, env);
        Assert.Equal(ExitCodes.Failed, refused.ExitCode);
        var failure = Assert.Single(refused.Failures);
        Assert.Equal(TalosErrors.FactoryAuthenticationFailed.Id, failure.ErrorId);
        Assert.Equal(TalosErrorKind.PermissionDenied, failure.Kind);
        Assert.Contains("user carol", failure.Message);
        Assert.Contains("$LAB_FACTORY_PASSWORD", failure.Message);
        Assert.DoesNotContain("config-password-2", failure.Message);
        var manifest = File.ReadAllText(Directory.GetFiles(_dir.File("manifests")).Single());
        Assert.Contains("FactoryAuthenticationFailed", manifest);
        Assert.DoesNotContain("config-password-2", manifest);

        var result = await RunAsync(config, env, new System.Net.NetworkCredential("bob", "param-password-1"));
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task A_variable_factory_auth_names_that_is_not_set_stops_the_run_before_any_request()
    {
        var config = Config("  factory_auth:\n    bearer_token_env: LAB_FACTORY_TOKEN");
        var e = await Assert.ThrowsAsync<TalosException>(() => RunAsync(config, new Dictionary<string, string>()));
        Assert.Equal(TalosErrors.FactoryCredentialMissing.Id, e.ErrorId);
        Assert.Contains("LAB_FACTORY_TOKEN", e.Message);
        Assert.Equal(ExitCodes.BadInput, ExitCodes.For(e));
        Assert.Empty(_factory.Log);
    }

    [Theory]
    [InlineData("  factory_auth:\n    bearer_token_env: A\n    username: u", "factory_auth.username", "give either bearer_token_env or username and password_env")]
    [InlineData("  factory_auth:\n    username: u", "factory_auth.password_env", "HTTP Basic needs both username and password_env")]
    [InlineData("  factory_auth:\n    password_env: P", "factory_auth.username", "HTTP Basic needs both username and password_env")]
    [InlineData("  factory_auth: {}", "factory_auth", "needs bearer_token_env, or username and password_env")]
    [InlineData("  factory_auth:\n    bearer_token_env: tok_abc def", "factory_auth.bearer_token_env", "NAME of an environment variable")]
    [InlineData("  factory_auth:\n    password: hunter2", "factory_auth.password", "password_env")]
    public void Config_yaml_factory_auth_is_checked_when_it_is_read(string auth, string key, string expected)
    {
        var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(Config(auth), Orders(), _ => null));
        Assert.Contains(e.Problems, p => p.Key.EndsWith(key, StringComparison.Ordinal) && p.Message.Contains(expected));
    }
}
