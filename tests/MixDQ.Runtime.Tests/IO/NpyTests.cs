using System.Buffers.Binary;
using System.Text;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

public sealed class NpyTests : IDisposable
{
    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public void Dispose() => _dir.Dispose();

    /// <summary>A .npy file made by hand: any version, any header text, any data.</summary>
    private string Handmade(string header, byte[] data, int major = 1, int minor = 0, Encoding? encoding = null)
    {
        byte[] text = (encoding ?? Encoding.Latin1).GetBytes(header);
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, (byte)minor]);
        Span<byte> len = stackalloc byte[4];
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)text.Length);
            ms.Write(len[..2]);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)text.Length);
            ms.Write(len);
        }
        ms.Write(text);
        ms.Write(data);
        string path = _dir.File(Guid.NewGuid().ToString("N")[..8] + ".npy");
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    private static MixDQException Invalid(string path, string expectedText)
    {
        var e = Assert.Throws<MixDQException>(() => Npy.Read(path));
        Assert.Equal(ErrorCodes.NpyInvalid, e.Code);
        Assert.Equal(path, e.File);
        Assert.Contains(expectedText, e.Message);
        Assert.Contains(Path.GetFileName(path), e.ToDiagnosticLine());
        return e;
    }

    [Theory]
    [InlineData(new[] { 2, 3 })]
    [InlineData(new[] { 5 })]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 4, 2, 2 })]
    [InlineData(new[] { 0, 3 })]
    public void Float32_round_trips(int[] shape)
    {
        var rng = new Random(2);
        var t = new Tensor(Enumerable.Range(0, (int)Tensor.ElementCount(shape)).Select(_ => (float)rng.NextDouble()).ToArray(), shape);
        string path = _dir.File("f.npy");
        Npy.WriteFloat32(path, t);
        var a = Npy.Read(path);
        Assert.Equal(DType.F32, a.DType);
        Assert.Equal(shape, a.Shape);
        Assert.Equal(t.Data, a.ToFloat32().Data);
    }

    [Fact]
    public void Float16_round_trips_with_nearest_even_rounding()
    {
        var t = Tensor.FromSpan([0.1f, -65504f, 1e-7f, 3.14159f, 0f, 70000f], 3, 2);
        string path = _dir.File("h.npy");
        Npy.WriteFloat16(path, t);
        var a = Npy.Read(path);
        Assert.Equal(DType.F16, a.DType);
        Assert.Equal([3, 2], a.Shape);
        Assert.Equal(t.Data.Select(v => (float)(Half)v).ToArray(), a.ToFloat32().Data);
    }

    [Fact]
    public void UInt8_round_trips()
    {
        byte[] pixels = Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)(i * 14)).ToArray();
        string path = _dir.File("u.npy");
        Npy.WriteUInt8(path, pixels, 2, 3, 3);
        var a = Npy.Read(path);
        Assert.Equal(DType.U8, a.DType);
        Assert.Equal([2, 3, 3], a.Shape);
        Assert.Equal(pixels, a.Bytes);
    }

    [Fact]
    public void Other_numeric_types_round_trip_through_NpyArray()
    {
        var bytes = new byte[] { 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF };
        string path = _dir.File("i.npy");
        Npy.Write(path, new NpyArray(DType.I32, [2], bytes));
        var a = Npy.Read(path);
        Assert.Equal(DType.I32, a.DType);
        Assert.Equal([1f, -1f], a.ToFloat32().Data);
    }

    [Fact]
    public void Written_header_is_version_1_padded_to_64_bytes_and_ends_with_newline()
    {
        string path = _dir.File("x.npy");
        Npy.WriteFloat32(path, Tensor.FromSpan([1f, 2f, 3f], 3));
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(1, file[6]);
        Assert.Equal(0, file[7]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(file, 10, headerLength);
        Assert.EndsWith("\n", header);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", header);
        Assert.Equal(10 + headerLength + 12, file.Length);
    }

    [Fact]
    public void Version_2_header_is_read()
    {
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }".PadRight(115) + "\n";
        string path = Handmade(header, Floats(1, 2, 3, 4), major: 2);
        var a = Npy.Read(path);
        Assert.Equal([2, 2], a.Shape);
        Assert.Equal([1f, 2f, 3f, 4f], a.ToFloat32().Data);
    }

    [Fact]
    public void Version_3_utf8_header_is_read()
    {
        string path = Handmade("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n", [7, 8, 9], major: 3, encoding: Encoding.UTF8);
        Assert.Equal([7, 8, 9], Npy.Read(path).Bytes);
    }

    [Theory]
    [InlineData("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}")]
    [InlineData("{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}   \n")]
    [InlineData("  {'descr':'<f4','fortran_order':False,'shape':[2]}")]
    public void Header_spellings_numpy_and_python_2_produce(string header)
    {
        var a = Npy.Read(Handmade(header, Floats(5, 6)));
        Assert.Equal([5f, 6f], a.ToFloat32().Data);
    }

    [Fact]
    public void Bad_magic()
    {
        string path = Handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1));
        Invalid(Corrupt(path, 1, (byte)'X'), "bad magic");
    }

    private static string Corrupt(string path, int at, byte value)
    {
        byte[] b = File.ReadAllBytes(path);
        b[at] = value;
        File.WriteAllBytes(path, b);
        return path;
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    public void Unsupported_version(int major, int minor)
    {
        Invalid(Handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1), major, minor), "version");
    }

    [Theory]
    [InlineData("[1, 2]", "not a dict")]
    [InlineData("'descr'", "not a dict")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "ends early")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "after the dict")]
    [InlineData("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", "Maybe")]
    [InlineData("{'descr': '<f4', 'shape': (2,)}", "exactly")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "exactly")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", "shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "tuple")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,)}", "shape")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", "structured")]
    public void Malformed_header(string header, string expectedText)
    {
        Invalid(Handmade(header, Floats(1, 2)), expectedText);
    }

    [Fact]
    public void Deep_nesting_is_refused_not_a_stack_overflow()
    {
        Invalid(Handmade("{'descr': " + new string('(', 5000) + "}", []), "nests too deeply");
    }

    [Fact]
    public void Fortran_order_is_refused()
    {
        Invalid(Handmade("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Floats(1, 2, 3, 4)), "Fortran");
    }

    [Theory]
    [InlineData(">f4", "big-endian")]
    [InlineData(">f2", "big-endian")]
    [InlineData("<c8", "unsupported dtype '<c8'")]
    [InlineData("<U3", "unsupported dtype")]
    [InlineData("<u4", "unsupported dtype")]
    [InlineData("O", "unsupported dtype")]
    public void Wrong_dtype(string descr, string expectedText)
    {
        Invalid(Handmade("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", new byte[8]), expectedText);
    }

    [Fact]
    public void Data_longer_than_the_shape_is_a_mismatch()
    {
        Invalid(Handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Floats(1, 2, 3)), "more follow");
    }

    [Fact]
    public void Truncated_data()
    {
        Invalid(Handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", Floats(1, 2)), "truncated");
    }

    [Fact]
    public void Truncated_header()
    {
        string path = Handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", []);
        byte[] b = File.ReadAllBytes(path);
        File.WriteAllBytes(path, b[..30]);
        Invalid(path, "truncated");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    public void Truncated_preamble(int length)
    {
        string path = _dir.File($"p{length}.npy");
        File.WriteAllBytes(path, new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0x40, 0 }[..length]);
        Invalid(path, "truncated");
    }

    [Fact]
    public void Missing_file_is_FileUnreadable()
    {
        var e = Assert.Throws<MixDQException>(() => Npy.Read(_dir.File("none.npy")));
        Assert.Equal(ErrorCodes.FileUnreadable, e.Code);
    }

    [Fact]
    public void Writing_into_a_missing_folder_fails_with_OutputNotWritable_and_leaves_no_file()
    {
        string path = Path.Combine(_dir.Path, "missing", "x.npy");
        var e = Assert.Throws<MixDQException>(() => Npy.WriteUInt8(path, [1, 2], 2));
        Assert.Equal(ErrorCodes.OutputNotWritable, e.Code);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void WriteUInt8_checks_the_shape()
    {
        Assert.Throws<ArgumentException>(() => Npy.WriteUInt8(_dir.File("bad.npy"), [1, 2, 3], 2, 2));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }
}
