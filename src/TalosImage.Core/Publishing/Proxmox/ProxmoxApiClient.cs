using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Security;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using TalosImage.Core.Http;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>What a request is for: shown in errors, with the permission Proxmox wants for it.</summary>
internal sealed record ProxmoxCall(string What, string Node, string Storage, string Permission);

/// <summary>One item of <c>GET /nodes/{node}/storage/{storage}/content</c>.</summary>
internal sealed record ProxmoxVolume(string VolumeId, long Size, string Format);

/// <summary>The parts of <c>GET /storage/{storage}</c> the publisher uses.</summary>
internal sealed record ProxmoxStorageConfig(bool Shared, IReadOnlyList<string>? Content);

/// <summary>The parts of <c>GET /nodes/{node}/storage/{storage}/status</c> the space check uses (bytes; -1 when not reported).</summary>
internal sealed record ProxmoxStorageStatus(long Total, long Used, long Avail, bool Shared);

/// <summary>One VM or template of <c>GET /cluster/resources?type=vm</c>.</summary>
internal sealed record ProxmoxVm(string Node, int VmId, string Name, bool Template);

/// <summary>
/// The Proxmox VE API calls of the publisher over one endpoint: token authentication, the certificate rule, Proxmox's
/// <c>{"data": ...}</c> envelope and its errors (which carry their text in the status line).
/// </summary>
internal sealed class ProxmoxApiClient : IDisposable
{
    private readonly ProxmoxApiToken _token;
    private readonly ProxmoxOptions _options;
    private readonly ProxmoxCertificatePin _pin;
    private readonly HttpClient _http;

    public ProxmoxApiClient(Uri endpoint, ProxmoxApiToken token, string? fingerprint, ProxmoxOptions options)
    {
        Endpoint = endpoint.GetLeftPart(UriPartial.Authority);
        _token = token;
        _options = options;
        _pin = new ProxmoxCertificatePin(fingerprint);
        _http = HttpPipeline.Create(Endpoint + "/api2/json/", options.Http with { ServerCertificateValidation = _pin.Validate });
    }

    /// <summary>scheme://host:port of the API.</summary>
    public string Endpoint { get; }

    public async Task<ProxmoxStorageConfig> GetStorageConfigAsync(ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync($"storage/{E(call.Storage)}", call, ct).ConfigureAwait(false) as JObject;
        var shared = data?["shared"] is { Type: not JTokenType.Null } s && (s.Type == JTokenType.Boolean ? s.Value<bool>() : s.Value<int>() != 0);
        var content = data?["content"]?.Value<string>() is { } c
            ? c.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(x => x.Trim()).ToList()
            : null;
        return new ProxmoxStorageConfig(shared, content);
    }

    public async Task<IReadOnlyList<ProxmoxVolume>> ListContentAsync(string content, ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync($"nodes/{E(call.Node)}/storage/{E(call.Storage)}/content?content={E(content)}", call, ct).ConfigureAwait(false);
        if (data is not JArray items)
        {
            throw Protocol(call, "the content list is not an array");
        }
        return items.OfType<JObject>()
            .Select(i => new ProxmoxVolume(i.Value<string>("volid") ?? "", i["size"]?.Value<long?>() ?? -1, i.Value<string>("format") ?? ""))
            .ToList();
    }

    /// <summary><c>GET /nodes/{node}/storage/{storage}/status</c>: total, used and available bytes of the storage on that node.</summary>
    public async Task<ProxmoxStorageStatus> GetStorageStatusAsync(ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync($"nodes/{E(call.Node)}/storage/{E(call.Storage)}/status", call, ct).ConfigureAwait(false) as JObject
            ?? throw Protocol(call, "the storage status is not an object");
        var shared = data["shared"] is { Type: not JTokenType.Null } s && (s.Type == JTokenType.Boolean ? s.Value<bool>() : s.Value<long>() != 0);
        return new ProxmoxStorageStatus(Long(data["total"]), Long(data["used"]), Long(data["avail"]), shared);
    }

    /// <summary>
    /// <c>GET /nodes/{node}/status</c>: the node's root filesystem (where uploads are staged, in <c>/var/tmp</c>) as
    /// (total, avail) bytes, or null when the answer has no <c>rootfs</c>.
    /// </summary>
    public async Task<(long Total, long Avail)?> GetNodeRootFsAsync(ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync($"nodes/{E(call.Node)}/status", call, ct).ConfigureAwait(false) as JObject;
        return data?["rootfs"] is JObject root && Long(root["avail"]) >= 0 ? (Long(root["total"]), Long(root["avail"])) : null;
    }

    /// <summary><c>GET /cluster/resources?type=vm</c>: every VM and template of the cluster, with its node.</summary>
    public async Task<IReadOnlyList<ProxmoxVm>> ListVmsAsync(ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync("cluster/resources?type=vm", call, ct).ConfigureAwait(false);
        if (data is not JArray items)
        {
            throw Protocol(call, "the cluster resource list is not an array");
        }
        return items.OfType<JObject>()
            .Where(i => (i.Value<string>("type") ?? "qemu") == "qemu" && i["vmid"] is { } id && id.Type is JTokenType.Integer or JTokenType.String)
            .Select(i => new ProxmoxVm(i.Value<string>("node") ?? "", int.TryParse(i["vmid"]!.ToString(), out var n) ? n : -1, i.Value<string>("name") ?? "",
                i["template"] is { Type: not JTokenType.Null } t && (t.Type == JTokenType.Boolean ? t.Value<bool>() : t.Value<long>() != 0)))
            .Where(v => v.VmId > 0 && ProxmoxTarget.NodeProblem(v.Node) is null)
            .ToList();
    }

    /// <summary><c>GET /nodes/{node}/qemu/{vmid}/config</c>: the VM's configuration keys and their values as text.</summary>
    public async Task<IReadOnlyDictionary<string, string>> GetVmConfigAsync(string node, int vmid, ProxmoxCall call, CancellationToken ct)
    {
        var data = await GetAsync($"nodes/{E(node)}/qemu/{vmid.ToString(System.Globalization.CultureInfo.InvariantCulture)}/config", call with { Node = node }, ct).ConfigureAwait(false) as JObject
            ?? throw Protocol(call, $"the configuration of VM {vmid} is not an object");
        return data.Properties().ToDictionary(p => p.Name, p => p.Value.Type == JTokenType.String ? p.Value.Value<string>() ?? "" : p.Value.ToString(Formatting.None), StringComparer.Ordinal);
    }

    /// <summary><c>DELETE /nodes/{node}/storage/{storage}/content/{volume}</c>; returns the task UPID (null when Proxmox answers none, as older releases did).</summary>
    public async Task<string?> DeleteVolumeAsync(string volumeId, ProxmoxCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"nodes/{E(call.Node)}/storage/{E(call.Storage)}/content/{E(volumeId)}");
        var data = await SendAsync(request, _options.Http with { MaxAttempts = 1 }, call, ct).ConfigureAwait(false);
        var upid = data?.Type == JTokenType.String ? data.Value<string>() : null;
        return upid is not null && upid.StartsWith("UPID:", StringComparison.Ordinal) ? upid : null;
    }

    private static long Long(JToken? token) =>
        token is { Type: JTokenType.Integer or JTokenType.Float } ? token.Value<long>() :
        token is { Type: JTokenType.String } && long.TryParse(token.Value<string>(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1;

    /// <summary>POSTs <paramref name="content"/> and returns the task UPID Proxmox answers with.</summary>
    public async Task<string> StartTaskAsync(string path, HttpContent content, HttpOptions sendOptions, ProxmoxCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        var data = await SendAsync(request, sendOptions, call, ct).ConfigureAwait(false);
        var upid = data?.Type == JTokenType.String ? data.Value<string>() : null;
        if (upid is null || !upid.StartsWith("UPID:", StringComparison.Ordinal))
        {
            throw Protocol(call, "the answer carries no task id (UPID)");
        }
        return upid;
    }

    /// <summary>
    /// Polls the task until it stops. OK and <c>WARNINGS: n</c> succeed (the exit status is returned); any other
    /// exit status fails with ErrorId ProxmoxTaskFailed carrying Proxmox's text.
    /// </summary>
    public async Task<string> WaitForTaskAsync(string upid, ProxmoxCall call, CancellationToken ct)
    {
        // UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: — the task lives on <node>.
        var fields = upid.Split(':');
        var node = fields.Length > 1 && fields[1].Length > 0 ? fields[1] : call.Node;
        var path = $"nodes/{E(node)}/tasks/{E(upid)}/status";
        var statusCall = call with { Permission = "Sys.Audit on /nodes/" + node + " (a token always sees its own tasks)" };
        var deadline = DateTime.UtcNow + _options.TaskTimeout;
        while (true)
        {
            var data = await GetAsync(path, statusCall, ct).ConfigureAwait(false) as JObject;
            if (data is null)
            {
                throw Protocol(call, "the task status is not an object");
            }
            if (data.Value<string>("status") == "stopped")
            {
                var exit = data.Value<string>("exitstatus") ?? "";
                if (exit == "OK" || exit.StartsWith("WARNINGS", StringComparison.Ordinal))
                {
                    return exit;
                }
                throw new TalosException(TalosErrors.ProxmoxTaskFailed,
                    $"{call.What} on node {node} of {Endpoint} failed: {Scrub(exit.Length > 0 ? exit : "(no exit status)")}. Task {upid}; its log is in the node's task list.",
                    upid);
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new TalosException(TalosErrors.ProxmoxTaskTimeout,
                    $"{call.What} on node {node} of {Endpoint} was still running after {Units.Duration(_options.TaskTimeout)} (task {upid}). " +
                    "It may still finish; check the node's task list, then run again (an existing volume is reused).", upid);
            }
            await Task.Delay(_options.PollInterval, ct).ConfigureAwait(false);
        }
    }

    private async Task<JToken?> GetAsync(string path, ProxmoxCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(request, _options.Http, call, ct).ConfigureAwait(false);
    }

    private async Task<JToken?> SendAsync(HttpRequestMessage request, HttpOptions sendOptions, ProxmoxCall call, CancellationToken ct)
    {
        request.Headers.TryAddWithoutValidation("Authorization", _token.AuthorizationHeaderValue);
        HttpResponseMessage response;
        try
        {
            response = await HttpPipeline.SendAsync(_http, request, sendOptions, ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (e.ErrorId == TalosErrors.HttpConnectionFailed.Id && _pin.Refused is { } refused)
        {
            throw CertificateRefused(refused.Fingerprint, refused.Errors, e);
        }
        using (response)
        {
            var code = (int)response.StatusCode;
            if (code == 401)
            {
                throw new TalosException(TalosErrors.ProxmoxAuthenticationFailed,
                    $"{call.What}: {Endpoint} refused the API token {_token} (401 {Scrub(response.ReasonPhrase ?? "")}) for node {call.Node}, storage {call.Storage}. " +
                    "Check that the token id and secret are right and that the token still exists and has not expired.", Endpoint);
            }
            if (code == 403)
            {
                throw new TalosException(TalosErrors.ProxmoxPermissionDenied,
                    $"{call.What}: {Endpoint} denied the API token {_token} (403 {Scrub(response.ReasonPhrase ?? "")}) on node {call.Node}, storage {call.Storage}. " +
                    $"It needs {call.Permission}. A privilege-separated token has only the permissions granted to the token itself " +
                    "(pveum acl modify <path> --tokens '<user@realm!token>' --roles <role>).", Endpoint);
            }
            if (!response.IsSuccessStatusCode)
            {
                // The start of the body only (HttpOptions.MaxErrorBodyBytes), within the read timeout and answer deadline.
                var error = await HttpBody.ReadErrorTextAsync(response, sendOptions, ct).ConfigureAwait(false);
                throw new TalosException(TalosErrors.ProxmoxApiError,
                    $"{call.What} on node {call.Node}, storage {call.Storage}: {request.Method} {Endpoint}/api2/json/{PathOnly(request)} answered " +
                    $"{code} {Scrub(response.ReasonPhrase ?? "")}{ErrorDetails(Scrub(error))}", Endpoint);
            }
            // The answer through the shared bounded reader: idle timeout, answer deadline, cancellation, size cap.
            var body = await HttpBody.ReadAnswerAsync(response, sendOptions, ct).ConfigureAwait(false);
            try
            {
                return JToken.Parse(body.Length == 0 ? "{}" : body)["data"];
            }
            catch (JsonException)
            {
                throw Protocol(call, "the answer is not JSON");
            }
        }
    }

    private TalosException CertificateRefused(string fingerprint, SslPolicyErrors errors, Exception inner)
    {
        if (_pin.Pinned)
        {
            return new TalosException(TalosErrors.ProxmoxCertificatePinMismatch,
                $"{Endpoint} presented a certificate with SHA-256 fingerprint {fingerprint}, which is not the pinned one. " +
                "If the node's certificate was renewed on purpose, pin the new fingerprint (check it on the node: `pvenode cert info`); " +
                "otherwise something else answers at this address.", Endpoint, inner);
        }
        return new TalosException(TalosErrors.ProxmoxCertificateUntrusted,
            $"{Endpoint} presented a certificate this machine does not trust ({errors}). Its SHA-256 fingerprint is {fingerprint}. " +
            "If that is the node's certificate (compare with `pvenode cert info` on the node, or System > Certificates in its web UI), " +
            "pin it: the target's fingerprint (-Fingerprint / fingerprint:) set to that value. Verification is never turned off.",
            Endpoint, inner);
    }

    private TalosException Protocol(ProxmoxCall call, string what) =>
        new(TalosErrors.ProxmoxProtocolError, $"{call.What} on node {call.Node} of {Endpoint}: {what}. Is this a Proxmox VE API?", Endpoint);

    private string Scrub(string text) => _token.Scrub(text);

    /// <summary>Proxmox puts parameter errors in <c>{"errors": {"name": "text"}}</c> and other texts in <c>message</c>.</summary>
    private static string ErrorDetails(string body)
    {
        try
        {
            var json = JToken.Parse(body);
            var parts = new List<string>();
            if (json["errors"] is JObject errors)
            {
                parts.AddRange(errors.Properties().Select(p => $"{p.Name}: {p.Value.ToString().Trim()}"));
            }
            if (json["message"]?.Value<string>() is { Length: > 0 } message)
            {
                parts.Add(message.Trim());
            }
            return parts.Count > 0 ? ": " + string.Join("; ", parts) : ".";
        }
        catch (JsonException)
        {
            var text = body.Trim();
            // Redacted before it is cut (SafeText.Excerpt), so a cut never leaves part of a secret.
            return text.Length == 0 ? "." : ": " + SafeText.Excerpt(text, 300);
        }
    }

    private static string PathOnly(HttpRequestMessage request)
    {
        var s = request.RequestUri?.OriginalString ?? "";
        var q = s.IndexOf('?');
        return q >= 0 ? s.Substring(0, q) : s;
    }

    // VM calls (templates): the answer's data as Proxmox sends it; the callers read what they need.

    /// <summary>GET of an API path (relative to /api2/json/), the answer's <c>data</c>.</summary>
    public Task<JToken?> GetDataAsync(string path, ProxmoxCall call, CancellationToken ct) => GetAsync(path, call, ct);

    /// <summary>POST of form fields; the answer's <c>data</c> (a UPID for most VM calls, null for some).</summary>
    public async Task<JToken?> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, ProxmoxCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        return await SendAsync(request, _options.Http with { MaxAttempts = 1 }, call, ct).ConfigureAwait(false);
    }

    /// <summary>DELETE of an API path; the answer's <c>data</c> (a UPID on current releases).</summary>
    public async Task<JToken?> DeleteAsync(string path, ProxmoxCall call, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, path);
        return await SendAsync(request, _options.Http with { MaxAttempts = 1 }, call, ct).ConfigureAwait(false);
    }

    /// <summary>The UPID an answer carries, or null.</summary>
    public static string? UpidOf(JToken? data) =>
        data?.Type == JTokenType.String && data.Value<string>() is { } s && s.StartsWith("UPID:", StringComparison.Ordinal) ? s : null;

    internal static string E(string segment) => Uri.EscapeDataString(segment);

    public void Dispose() => _http.Dispose();
}
