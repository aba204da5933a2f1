using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Hashing;

/// <summary>
/// The input hash of a model: SHA-256 over, for each input file in ordinal order of its '/'-separated
/// relative path, the path's UTF-8 bytes, a 0 byte, the length as 8 little-endian bytes and the
/// content. The folder's absolute location and file times do not enter, so the same model gives the
/// same hash on every machine. Files are streamed: a 10 GB UNet never sits in memory.
/// </summary>
public static class InputHasher
{
    public static string Hash(string root, IEnumerable<string> relativePaths, IProgress<(string File, int Index, int Count)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var files = relativePaths.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        Span<byte> len = stackalloc byte[8];
        for (int i = 0; i < files.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string rel = files[i];
            progress?.Report((rel, i, files.Count));
            string full = Path.Combine(root, rel.Replace('/', Path.DirectorySeparatorChar));
            sha.AppendData(Encoding.UTF8.GetBytes(rel));
            sha.AppendData([0]);
            try
            {
                using var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                BinaryPrimitives.WriteInt64LittleEndian(len, fs.Length);
                sha.AppendData(len);
                int n;
                while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    sha.AppendData(buffer, 0, n);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read input file: {e.Message}", full);
            }
        }
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>SHA-256 of one file, as <c>sha256:hex</c>.</summary>
    public static string HashFile(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(fs));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read: {e.Message}", path);
        }
    }
}
