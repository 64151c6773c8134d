using System;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace TalosImage.Core.Http;

/// <summary>Small API answers (JSON lists, YAML) read with the pipeline's read timeout and a size limit.</summary>
public static class HttpText
{
    /// <summary>API answers are small; a bigger body is not what was asked for.</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    /// <summary>The body of <paramref name="response"/> as UTF-8 text; a stall longer than the read timeout is a TalosException HttpTimeout.</summary>
    public static async Task<string> ReadAsync(HttpResponseMessage response, HttpOptions options, CancellationToken cancellationToken)
    {
        var url = HttpPipeline.Redact(response.RequestMessage?.RequestUri);
        if (response.Content is null)
        {
            return "";
        }
        try
        {
            using var stream = new ReadTimeoutStream(await response.Content.ReadAsStreamAsync().ConfigureAwait(false), options.ReadTimeout);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, 0, chunk.Length, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > MaxBytes)
                {
                    throw new TalosException("HttpResponseTooLarge", TalosErrorKind.ProtocolError,
                        $"{url}: the answer is larger than {Units.Bytes(MaxBytes)}; this is not an API answer", url);
                }
                buffer.Write(chunk, 0, n);
            }
            return new UTF8Encoding(false).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (TimeoutException e)
        {
            throw new TalosException("HttpTimeout", TalosErrorKind.OperationTimeout, $"{url}: {e.Message}", url, e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TalosException("HttpConnectionFailed", TalosErrorKind.ConnectionError, $"{url}: {HttpPipeline.Describe(e)}", url, e);
        }
    }

    /// <summary>Parses <paramref name="text"/> as JSON (whatever the Content-Type said), or throws a ProtocolError naming the URL.</summary>
    public static JToken ParseJson(string text, string url)
    {
        try
        {
            using var reader = new Newtonsoft.Json.JsonTextReader(new StringReader(text)) { DateParseHandling = Newtonsoft.Json.DateParseHandling.None };
            var token = JToken.ReadFrom(reader);
            while (reader.Read())
            {
                if (reader.TokenType != Newtonsoft.Json.JsonToken.Comment)
                {
                    throw new Newtonsoft.Json.JsonReaderException("additional text after the JSON value");
                }
            }
            return token;
        }
        catch (Newtonsoft.Json.JsonException e)
        {
            throw new TalosException("InvalidServerAnswer", TalosErrorKind.ProtocolError, $"{url}: expected JSON, got: {SafeText.Excerpt(text, 200)} ({e.Message})", url, e);
        }
    }
}
