using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Http;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// The factory's own checksum of an asset: enterprise factories serve <c>&lt;asset&gt;.sha256</c> and
/// <c>&lt;asset&gt;.sha512</c> beside it; the public one answers 402, others 404 (then the hash is only the one computed
/// here, <see cref="HashSource.Local"/>). <see cref="FetchAsync"/> asks for it (a small answer, within short
/// timeouts, with the same credential as the download); <see cref="VerifyAsync"/> compares a downloaded file's hash with it.
/// A step of its own, called after the body is in the <c>.part</c> and before the file gets its final name.
/// </summary>
public static class FactoryChecksum
{
    /// <summary>The most a checksum file may hold: a line or a few (sha256sum format).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The longest wait for a checksum file's headers: the asset is built by now, so the answer is quick.</summary>
    public static readonly TimeSpan HeadersTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The factory's digest of an asset: the algorithm, the lower-case hex and the URL it came from (for messages).</summary>
    public sealed record Expected(HashSource Source, string Hex, string Url);

    /// <summary>
    /// GET <c>&lt;assetUrl&gt;.sha256</c>, then (on 404 only) <c>.sha512</c>. Null when the factory serves neither: 402
    /// (the public factory: an enterprise feature), 404, 405 or 501, said in a verbose line. A 401/403 with the
    /// credential is FactoryAuthenticationFailed; another failure is the HTTP error; a file that holds no digest of
    /// the right length for the asset is FactoryChecksumMismatch. The answer is read bounded in size
    /// (<see cref="MaxBytes"/>) and time (the options' read timeout and answer deadline).
    /// </summary>
    public static async Task<Expected?> FetchAsync(string assetUrl, string asset, HttpOptions http, IEngineEvents events, CancellationToken ct)
    {
        var options = http with
        {
            MaxAnswerBytes = MaxBytes,
            HeadersTimeout = http.HeadersTimeout < HeadersTimeout ? http.HeadersTimeout : HeadersTimeout,
        };
        var client = HttpPipeline.For(new Uri(assetUrl).GetLeftPart(UriPartial.Authority), options);
        foreach (var source in new[] { HashSource.FactorySha256, HashSource.FactorySha512 })
        {
            var url = assetUrl + Suffix(source);
            var shown = HttpPipeline.Redact(new Uri(url));
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await HttpPipeline.SendAsync(client, request, options, ct).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is 402 or 404 or 405 or 501)
            {
                events.Verbose($"GET {shown}: {status} {response.ReasonPhrase}: the factory serves no {Suffix(source)} checksum" +
                    (status == 402 ? " (an enterprise feature)" : "") + ".");
                if (status == 404 && source == HashSource.FactorySha256)
                {
                    continue;
                }
                return null;
            }
            await HttpPipeline.EnsureSuccessAsync(response, options, ct).ConfigureAwait(false);
            var text = await HttpText.ReadAsync(response, options, ct).ConfigureAwait(false);
            var hex = Parse(text, asset, source == HashSource.FactorySha256 ? 64 : 128)
                ?? throw new TalosException(TalosErrors.FactoryChecksumMismatch,
                    $"GET {shown} answered 200, but not with a {Suffix(source)} checksum of {asset} (expected '<hex>  {asset}' or '<hex>'): {SafeText.Excerpt(text, 120)}", shown);
            return new Expected(source, hex, shown);
        }
        return null;
    }

    /// <summary>
    /// The digest for <paramref name="asset"/> in a checksum file: the only line, or the line naming the asset
    /// (<c>&lt;hex&gt;  &lt;name&gt;</c> or <c>&lt;hex&gt; *&lt;name&gt;</c>, sha256sum's formats, or a bare digest), lower case; null when there is none
    /// of <paramref name="length"/> hex digits.
    /// </summary>
    public static string? Parse(string text, string asset, int length)
    {
        var lines = (text ?? "").Replace("\r", "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        foreach (var line in lines)
        {
            var cut = line.IndexOfAny(new[] { ' ', '\t' });
            var digest = cut < 0 ? line : line.Substring(0, cut);
            var name = cut < 0 ? "" : line.Substring(cut).Trim().TrimStart('*');
            if (name.Length > 0 && lines.Count > 1 && !string.Equals(Path.GetFileName(name), asset, StringComparison.Ordinal))
            {
                continue;
            }
            if (digest.Length == length && digest.All(Uri.IsHexDigit))
            {
                return digest.ToLowerInvariant();
            }
        }
        return null;
    }

    /// <summary>
    /// Checks the complete file at <paramref name="partPath"/> (whose SHA-256, computed while it was received, is
    /// <paramref name="sha256"/>) against <paramref name="expected"/>: the SHA-256 compared, or for a .sha512 the file
    /// hashed again with SHA-512. A mismatch is FactoryChecksumMismatch (the caller removes the file). Returns the
    /// hash source to record.
    /// </summary>
    public static async Task<HashSource> VerifyAsync(Expected? expected, string partPath, string sha256, string shownUrl, Action<long>? progress, CancellationToken ct)
    {
        if (expected is null)
        {
            return HashSource.Local;
        }
        string actual;
        if (expected.Source == HashSource.FactorySha256)
        {
            actual = sha256;
        }
        else
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
            using (var file = new FileStream(partPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
            {
                await FileHash.AppendAsync(hash, file, long.MaxValue, progress, ct).ConfigureAwait(false);
            }
            actual = FileHash.Hex(hash.GetHashAndReset());
        }
        if (!string.Equals(actual, expected.Hex, StringComparison.OrdinalIgnoreCase))
        {
            var algorithm = expected.Source == HashSource.FactorySha256 ? "sha256" : "sha512";
            throw new TalosException(TalosErrors.FactoryChecksumMismatch,
                $"GET {shownUrl}: the downloaded file has {algorithm} {actual}, but the factory's {expected.Url} says {expected.Hex}; it is not stored.", shownUrl);
        }
        return expected.Source;
    }

    private static string Suffix(HashSource source) => source == HashSource.FactorySha512 ? ".sha512" : ".sha256";
}
