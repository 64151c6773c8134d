using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Cache;

/// <summary>SHA-256 of files, read in large blocks with the next read overlapping the hashing of the current one.</summary>
public static class FileHash
{
    public const int BufferSize = 1 << 20;

    /// <summary>Lower-case hex SHA-256 of the whole file; <paramref name="progress"/> gets the bytes hashed so far.</summary>
    public static async Task<string> Sha256Async(string path, Action<long>? progress, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
        {
            await AppendAsync(hash, file, long.MaxValue, progress, cancellationToken).ConfigureAwait(false);
        }
        return Hex(hash.GetHashAndReset());
    }

    /// <summary>
    /// Feeds at most <paramref name="count"/> bytes of <paramref name="stream"/> (from its current position) into
    /// <paramref name="hash"/>; returns the bytes read. Reading the next block overlaps hashing the current one.
    /// </summary>
    public static async Task<long> AppendAsync(IncrementalHash hash, Stream stream, long count, Action<long>? progress, CancellationToken cancellationToken)
    {
        var current = new byte[BufferSize];
        var next = new byte[BufferSize];
        long done = 0;
        var pending = stream.ReadAsync(current, 0, (int)Math.Min(BufferSize, count), cancellationToken);
        while (true)
        {
            var n = await pending.ConfigureAwait(false);
            if (n <= 0)
            {
                break;
            }
            done += n;
            var left = count - done;
            pending = left > 0 ? stream.ReadAsync(next, 0, (int)Math.Min(BufferSize, left), cancellationToken) : Task.FromResult(0);
            hash.AppendData(current, 0, n);
            progress?.Invoke(done);
            (current, next) = (next, current);
        }
        return done;
    }

    public static string Hex(byte[] bytes)
    {
        var chars = new char[bytes.Length * 2];
        const string digits = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = digits[bytes[i] >> 4];
            chars[2 * i + 1] = digits[bytes[i] & 0xF];
        }
        return new string(chars);
    }
}
