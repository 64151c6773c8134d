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
    /// <summary>API answers are small; a bigger body is not what was asked for (the default of <see cref="HttpOptions.MaxAnswerBytes"/>).</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    /// <summary>
    /// The body of <paramref name="response"/> as UTF-8 text, through <see cref="HttpBody"/>: a stall longer than the
    /// read timeout or an answer not complete within <see cref="HttpOptions.AnswerTimeout"/> is a TalosException
    /// HttpTimeout, one larger than <see cref="HttpOptions.MaxAnswerBytes"/> HttpResponseTooLarge.
    /// </summary>
    public static Task<string> ReadAsync(HttpResponseMessage response, HttpOptions options, CancellationToken cancellationToken) =>
        HttpBody.ReadAnswerAsync(response, options, cancellationToken);

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
            throw new TalosException(TalosErrors.InvalidServerAnswer, $"{url}: expected JSON, got: {SafeText.Excerpt(text, 200)} ({e.Message})", url, e);
        }
    }
}
