using System.Net;
using TalosImage.Core;
using TalosImage.Core.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

public sealed class ProxmoxApiTokenTests
{
    private const string Secret = "9b2d4f6a-1c3e-4a5b-8d7f-0e1f2a3b4c5d";

    [Theory]
    [InlineData("root@pam!talos=" + Secret)]
    [InlineData("PVEAPIToken=root@pam!talos=" + Secret)]
    [InlineData("  root@pam!talos=" + Secret + "\n")]
    public void Parse_AcceptsTheTokenAndRedactsIt(string value)
    {
        var token = ProxmoxApiToken.Parse(value);
        Assert.Equal("root@pam!talos", token.TokenId);
        Assert.Equal("root@pam!talos=***", token.ToString());
        Assert.Equal("PVEAPIToken=root@pam!talos=" + Secret, token.AuthorizationHeaderValue);
    }

    [Theory]
    [InlineData(Secret)]
    [InlineData("root@pam=" + Secret)]
    [InlineData("root!talos=" + Secret)]
    [InlineData("root@pam!talos " + Secret)]
    [InlineData("root@pam!talos=")]
    [InlineData("")]
    public void Parse_RejectsMalformedValues_WithoutEchoingThem(string value)
    {
        var e = Assert.Throws<TalosException>(() => ProxmoxApiToken.Parse(value));
        Assert.Equal("ProxmoxTokenInvalid", e.ErrorId);
        Assert.DoesNotContain(Secret, e.Message);
        Assert.Contains("USER@REALM!TOKENID=SECRET", e.Message);
    }

    [Fact]
    public void FromEnvironment_ReadsTheVariable_AndNamesItWhenMissingOrBad()
    {
        var name = "TALOSIMAGE_TEST_PVE_" + Guid.NewGuid().ToString("N");
        try
        {
            var missing = Assert.Throws<TalosException>(() => ProxmoxApiToken.FromEnvironment(name));
            Assert.Equal("ProxmoxTokenMissing", missing.ErrorId);
            Assert.Contains(name, missing.Message);

            Environment.SetEnvironmentVariable(name, "nonsense" + Secret);
            var bad = Assert.Throws<TalosException>(() => ProxmoxApiToken.FromEnvironment(name));
            Assert.Equal("ProxmoxTokenInvalid", bad.ErrorId);
            Assert.Contains(name, bad.Message);
            Assert.DoesNotContain(Secret, bad.Message);

            Environment.SetEnvironmentVariable(name, "ci@pve!publish=" + Secret);
            Assert.Equal("ci@pve!publish=***", ProxmoxApiToken.FromEnvironment(name).ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void FromCredential_And_FromSecureString_BuildTheSameToken()
    {
        var secure = new NetworkCredential("", Secret).SecurePassword;
        var fromCredential = ProxmoxApiToken.FromCredential("root@pam!talos", secure);
        var fromSecure = ProxmoxApiToken.FromSecureString(new NetworkCredential("", "root@pam!talos=" + Secret).SecurePassword);

        Assert.Equal(fromCredential.AuthorizationHeaderValue, fromSecure.AuthorizationHeaderValue);
        Assert.Equal("root@pam!talos=***", fromCredential.ToString());
    }

    [Fact]
    public void Resolve_takes_exactly_one_source_in_order_and_refuses_two()
    {
        static System.Security.SecureString Secure(string s)
        {
            var secure = new System.Security.SecureString();
            foreach (var c in s)
            {
                secure.AppendChar(c);
            }
            return secure;
        }
        Func<string, string?> env = n => n == "PVE_TEST" ? "env@pve!t=env-secret" : null;

        Assert.Equal("root@pam!talos", ProxmoxApiToken.Resolve(Secure("root@pam!talos=a1"), null, null, "PVE_TEST", env).TokenId);
        Assert.Equal("ops@pve!ci", ProxmoxApiToken.Resolve(null, "ops@pve!ci", Secure("b2"), "PVE_TEST", env).TokenId);
        Assert.Equal("env@pve!t", ProxmoxApiToken.Resolve(null, null, null, "PVE_TEST", env).TokenId);
        Assert.Equal("ProxmoxTokenAmbiguous",
            Assert.Throws<TalosException>(() => ProxmoxApiToken.Resolve(Secure("root@pam!talos=a1"), "ops@pve!ci", Secure("b2"), "PVE_TEST", env)).ErrorId);
        var missing = Assert.Throws<TalosException>(() => ProxmoxApiToken.Resolve(null, null, null, "PVE_NONE", env));
        Assert.Equal("ProxmoxTokenMissing", missing.ErrorId);
        Assert.Contains("PVE_NONE", missing.Message);
    }
}
