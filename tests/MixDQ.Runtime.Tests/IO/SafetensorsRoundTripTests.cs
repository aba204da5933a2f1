using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

public class SafetensorsRoundTripTests
{
    /// <summary>Values of every dtype, as raw bytes, with the FP32 each must read back as.</summary>
    public static TheoryData<DType> AllDTypes() => new(Enum.GetValues<DType>());

    private static (byte[] Bytes, float[] Expected) Sample(DType dtype)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        float[] expected;
        switch (dtype)
        {
            case DType.F64: expected = [1.5f, -2.25f, 1e-3f, 0f, 3f, -7f]; foreach (var v in expected) w.Write((double)v); break;
            case DType.F32: expected = [1.5f, -2.25f, 1e-3f, 0f, float.MaxValue, float.Epsilon]; foreach (var v in expected) w.Write(v); break;
            case DType.F16:
                expected = [1.5f, -2.25f, (float)(Half)1e-3f, 0f, 65504f, (float)Half.Epsilon];
                foreach (var v in expected) w.Write((Half)v);
                break;
            case DType.BF16:
                expected = [1.5f, -2.25f, 0.5f, 0f, 3.3895314e38f, -1f];
                foreach (var v in expected) w.Write((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16));
                break;
            case DType.I64: expected = [1f, -2f, 3f, 0f, 1e12f, -5f]; foreach (var v in expected) w.Write((long)v); break;
            case DType.I32: expected = [1f, -2f, 3f, 0f, 1e9f, -5f]; foreach (var v in expected) w.Write((int)v); break;
            case DType.I16: expected = [1f, -2f, 3f, 0f, 32767f, -32768f]; foreach (var v in expected) w.Write((short)v); break;
            case DType.I8: expected = [1f, -2f, 3f, 0f, 127f, -128f]; foreach (var v in expected) w.Write((sbyte)v); break;
            case DType.U8: expected = [1f, 2f, 3f, 0f, 255f, 128f]; foreach (var v in expected) w.Write((byte)v); break;
            case DType.BOOL: expected = [1f, 0f, 1f, 0f, 1f, 1f]; foreach (var v in expected) w.Write((byte)v); break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype));
        }
        w.Flush();
        return (ms.ToArray(), expected);
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void Every_dtype_round_trips_raw_and_as_float32(DType dtype)
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("t.safetensors");
        var (bytes, expected) = Sample(dtype);
        SafetensorsWriter.Write(path, [new SafetensorsEntry("w", dtype, [2, 3], bytes), new SafetensorsEntry("scalar", dtype, [], bytes[..DTypeInfo.SizeOf(dtype)])]);

        using var file = SafetensorsFile.Open(path);
        Assert.True(file.TryGetInfo("w", out var info));
        Assert.Equal(dtype, info.DType);
        Assert.Equal([2, 3], info.Shape);
        Assert.Equal(bytes, file.GetRawBytes("w").ToArray());
        var t = file.ReadFloat32("w");
        Assert.Equal([2, 3], t.ShapeArray());
        Assert.Equal(expected, t.Data);
        var scalar = file.ReadFloat32("scalar");
        Assert.Equal(0, scalar.Rank);
        Assert.Equal(expected[0], scalar.Data[0]);
        var into = new float[6];
        file.ReadFloat32("w", into);
        Assert.Equal(expected, into);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void WriteTensors_stores_as_requested_and_reads_back_the_rounded_values(DType storeAs)
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("t.safetensors");
        var rng = new Random(3);
        var a = Tensor.FromSpan(Enumerable.Range(0, 37).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray(), 37);
        var b = Tensor.FromSpan([0f, -0f, 1e-8f, 70000f, float.NegativeInfinity, 0.1f], 2, 1, 3);
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["a"] = a, ["b.weight"] = b }, storeAs);

        using var file = SafetensorsFile.Open(path);
        foreach (var (name, t) in new[] { ("a", a), ("b.weight", b) })
        {
            Assert.True(file.TryGetInfo(name, out var info));
            Assert.Equal(storeAs, info.DType);
            var back = file.ReadFloat32(name);
            Assert.Equal(t.ShapeArray(), back.ShapeArray());
            float[] expected = t.Data.Select(v => storeAs switch
            {
                DType.F32 => v,
                DType.F16 => (float)(Half)v,
                _ => DTypeConversions.BFloat16BitsToSingle(DTypeConversions.SingleToBFloat16Bits(v)),
            }).ToArray();
            Assert.Equal(expected, back.Data);
        }
    }

    [Fact]
    public void Header_is_space_padded_to_8_byte_alignment_and_tensors_are_sorted_and_packed()
    {
        using var dir = RepoPaths.NewTempDir();
        // Names of different lengths so that several padding amounts occur across the cases.
        for (int extra = 0; extra < 8; extra++)
        {
            string path = dir.File($"p{extra}.safetensors");
            string name = "n" + new string('x', extra);
            SafetensorsWriter.Write(path, [new SafetensorsEntry("zeta", DType.U8, [3], new byte[] { 1, 2, 3 }), new SafetensorsEntry(name, DType.F32, [1], new byte[4])]);

            byte[] file = File.ReadAllBytes(path);
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
            Assert.Equal(0, (8 + n) % 8);
            string json = Encoding.UTF8.GetString(file, 8, (int)n);
            string trimmed = json.TrimEnd(' ');
            Assert.EndsWith("}", trimmed);
            Assert.True(json.Length - trimmed.Length < 8);
            using var doc = JsonDocument.Parse(trimmed);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
            Assert.Equal([name, "zeta"], names);
            Assert.Equal(0, doc.RootElement.GetProperty(name).GetProperty("data_offsets")[0].GetInt64());
            Assert.Equal(4, doc.RootElement.GetProperty("zeta").GetProperty("data_offsets")[0].GetInt64());
            Assert.Equal(8 + n + 4 + 3, file.Length);
            Assert.Equal([1, 2, 3], file[^3..]);
        }
    }

    [Fact]
    public void Output_is_deterministic_whatever_the_input_order()
    {
        using var dir = RepoPaths.NewTempDir();
        var e1 = new SafetensorsEntry("b", DType.F32, [1], BitConverter.GetBytes(1f));
        var e2 = new SafetensorsEntry("a", DType.I8, [2], new byte[] { 5, 6 });
        var meta1 = new Dictionary<string, string> { ["x"] = "1", ["format"] = "pt" };
        var meta2 = new Dictionary<string, string> { ["format"] = "pt", ["x"] = "1" };
        SafetensorsWriter.Write(dir.File("1.safetensors"), [e1, e2], meta1);
        SafetensorsWriter.Write(dir.File("2.safetensors"), [e2, e1], meta2);
        Assert.Equal(File.ReadAllBytes(dir.File("1.safetensors")), File.ReadAllBytes(dir.File("2.safetensors")));
    }

    [Fact]
    public void Streamed_entries_give_the_same_file_as_in_memory_entries()
    {
        using var dir = RepoPaths.NewTempDir();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        byte[] b = BitConverter.GetBytes(1f), a = [5, 6];
        SafetensorsWriter.Write(dir.File("memory.safetensors"),
            [new SafetensorsEntry("b", DType.F32, [1], b), new SafetensorsEntry("a", DType.I8, [2], a)], meta);
        SafetensorsWriter.WriteStreamed(dir.File("streamed.safetensors"),
            [new SafetensorsStreamEntry("b", DType.F32, [1], s => s.Write(b)), new SafetensorsStreamEntry("a", DType.I8, [2], s => s.Write(a))], meta);
        Assert.Equal(File.ReadAllBytes(dir.File("memory.safetensors")), File.ReadAllBytes(dir.File("streamed.safetensors")));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void A_streamed_entry_writing_the_wrong_byte_count_leaves_no_file(int written)
    {
        using var dir = RepoPaths.NewTempDir();
        var e = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.WriteStreamed(dir.File("bad.safetensors"),
            [new SafetensorsStreamEntry("w", DType.F32, [1], s => s.Write(new byte[written]))]));
        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void A_cancelled_streamed_write_leaves_no_file()
    {
        using var dir = RepoPaths.NewTempDir();
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => SafetensorsWriter.WriteStreamed(dir.File("c.safetensors"),
            [new SafetensorsStreamEntry("a", DType.U8, [1], s => { s.WriteByte(1); cts.Cancel(); }),
             new SafetensorsStreamEntry("b", DType.U8, [1], s => s.WriteByte(2))], cancellationToken: cts.Token));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Metadata_round_trips_including_non_ascii_and_quotes()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("m.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["plan"] = "{\"hash\": \"ab<c>\"}", ["note"] = "Grüße ✓", ["empty"] = "" };
        SafetensorsWriter.Write(path, [new SafetensorsEntry("ä.weight", DType.F32, [1], BitConverter.GetBytes(2f))], meta);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(meta.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        Assert.Equal(2f, file.ReadFloat32("ä.weight").Data[0]);
    }

    [Fact]
    public void A_file_without_tensors_or_metadata_round_trips()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("empty.safetensors");
        SafetensorsWriter.Write(path, []);
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
        Assert.Equal(16, file.FileLength); // 8-byte length + "{}" padded to 8
    }

    [Fact]
    public void Zero_element_tensors_are_allowed()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("z.safetensors");
        SafetensorsWriter.Write(path, [new SafetensorsEntry("empty", DType.F16, [0, 4], ReadOnlyMemory<byte>.Empty), new SafetensorsEntry("one", DType.F32, [1], BitConverter.GetBytes(4f))]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.ReadFloat32("empty").Length);
        Assert.Equal(4f, file.ReadFloat32("one").Data[0]);
    }

    [Fact]
    public void Lookup_by_name_and_unknown_names()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("l.safetensors");
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["x"] = Tensor.FromSpan([1f, 2f], 2) });
        using var file = SafetensorsFile.Open(path);
        Assert.NotNull(file.TryReadFloat32("x"));
        Assert.Null(file.TryReadFloat32("missing"));
        Assert.False(file.TryGetInfo("missing", out _));
        RawSafetensors.AssertFails(ErrorCodes.TensorNotFound, path, "missing", () => file.ReadFloat32("missing"));
        RawSafetensors.AssertFails(ErrorCodes.TensorNotFound, path, "missing", () => file.GetRawBytes("missing"));
    }

    [Fact]
    public void Reads_after_dispose_throw_ObjectDisposedException()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("d.safetensors");
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["x"] = Tensor.FromSpan([1f], 1) });
        var file = SafetensorsFile.Open(path);
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.ReadFloat32("x"));
    }

    [Fact]
    public void Writer_rejects_inconsistent_entries_and_leaves_no_file()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("bad.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsEntry("a", DType.F32, [2], new byte[4])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsEntry("a", DType.U8, [1], new byte[1]), new SafetensorsEntry("a", DType.U8, [1], new byte[1])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsEntry("__metadata__", DType.U8, [1], new byte[1])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor>(), DType.I8));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Writing_into_a_missing_folder_fails_with_OutputNotWritable_and_leaves_no_file()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = Path.Combine(dir.Path, "no-such-folder", "out.safetensors");
        var e = Assert.Throws<MixDQException>(() => SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["x"] = Tensor.FromSpan([1f], 1) }));
        Assert.Equal(ErrorCodes.OutputNotWritable, e.Code);
        Assert.Equal(path, e.File);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Writing_below_a_file_fails_with_OutputNotWritable()
    {
        using var dir = RepoPaths.NewTempDir();
        File.WriteAllText(dir.File("plain"), "x");
        string path = Path.Combine(dir.File("plain"), "out.safetensors");
        var e = Assert.Throws<MixDQException>(() => SafetensorsWriter.Write(path, []));
        Assert.Equal(ErrorCodes.OutputNotWritable, e.Code);
        Assert.Equal(["plain"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failed_rewrite_keeps_the_previous_file_intact()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("keep.safetensors");
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["x"] = Tensor.FromSpan([1f], 1) });
        byte[] before = File.ReadAllBytes(path);
        // The second tensor's bytes fail while the file is being written (header and first tensor already out).
        var failing = new FailingMemory(4).Failing;
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsEntry("a", DType.U8, [1], new byte[1]), new SafetensorsEntry("z", DType.F32, [1], failing)]));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    /// <summary>Memory whose bytes cannot be read: stands for a source failing in the middle of a write.</summary>
    private sealed class FailingMemory(int length) : System.Buffers.MemoryManager<byte>
    {
        public Memory<byte> Failing => CreateMemory(length);

        public override Span<byte> GetSpan() => throw new InvalidOperationException("source failed");

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new InvalidOperationException("source failed");

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
