using System.Buffers.Binary;
using System.Text;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Tests.IO;

/// <summary>Builds safetensors files byte by byte, so tests can make every kind of damaged file.</summary>
internal static class RawSafetensors
{
    /// <summary>Writes 8-byte length (the JSON's, unless overridden), the JSON and the data.</summary>
    public static void Write(string path, string json, byte[] data, ulong? headerLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        WriteBytes(path, header, data, headerLength);
    }

    public static void WriteBytes(string path, byte[] header, byte[] data, ulong? headerLength = null)
    {
        using var fs = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, headerLength ?? (ulong)header.Length);
        fs.Write(len);
        fs.Write(header);
        fs.Write(data);
    }

    /// <summary>Asserts the code, that the message and <see cref="MixDQException.File"/> name the file, and the item if given.</summary>
    public static MixDQException AssertFails(string code, string path, string? tensor, Action act)
    {
        var e = Assert.Throws<MixDQException>(act);
        Assert.Equal(code, e.Code);
        Assert.Equal(Path.GetFullPath(path), e.File);
        Assert.Contains(Path.GetFileName(path), e.ToDiagnosticLine());
        if (tensor is not null)
        {
            Assert.Equal(tensor, e.Item);
            Assert.Contains(tensor, e.Message);
        }
        return e;
    }
}
