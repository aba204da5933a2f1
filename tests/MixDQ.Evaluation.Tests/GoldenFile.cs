using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace MixDQ.Evaluation.Tests;

/// <summary>A minimal safetensors reader for the golden files (U8 / F32 / I32 tensors and __metadata__).</summary>
internal sealed class GoldenFile
{
    private readonly byte[] _bytes;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string DType, int[] Shape, long Begin, long End)> _entries = new();

    public GoldenFile(string path)
    {
        _bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(_bytes);
        _dataStart = 8 + n;
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(_bytes, 8, (int)n));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) Metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            _entries[p.Name] = (p.Value.GetProperty("dtype").GetString()!, shape, offsets[0], offsets[1]);
        }
    }

    public Dictionary<string, string> Metadata { get; } = new();

    public int[] Shape(string name) => _entries[name].Shape;

    public IEnumerable<string> Names => _entries.Keys;

    public string DType(string name) => _entries[name].DType;

    public float[] F32(string name)
    {
        var e = _entries[name];
        Assert.Equal("F32", e.DType);
        var span = _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        var result = new float[span.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]);
        return result;
    }

    public int[] I32(string name)
    {
        var e = _entries[name];
        Assert.Equal("I32", e.DType);
        var span = _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        var result = new int[span.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]);
        return result;
    }

    public byte[] U8(string name)
    {
        var e = _entries[name];
        Assert.Equal("U8", e.DType);
        return _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin)).ToArray();
    }
}
