using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0): little-endian, C-order arrays of
/// <c>&lt;f4</c>, <c>&lt;f2</c>, <c>|u1</c> and the other fixed-size numeric types of <see cref="DType"/>
/// (BF16 excepted, which numpy lacks). Any defect is a <see cref="MixDQException"/> with code
/// <see cref="ErrorCodes.NpyInvalid"/> naming the file and what is wrong. Writes are atomic.
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>numpy aligns the data start to 64 bytes; so do we.</summary>
    private const int Alignment = 64;

    /// <summary>Real headers are a few hundred bytes; anything this large is a damaged length field.</summary>
    private const int MaxHeaderLength = 1 << 20;

    public static NpyArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        using var stream = OpenRead(full);
        long fileLength = stream.Length;

        Span<byte> preamble = stackalloc byte[12];
        ReadExactly(stream, preamble[..8], full, "the magic string and version");
        if (!preamble[..6].SequenceEqual(Magic))
            throw Invalid(full, "not a .npy file (bad magic string)");
        byte major = preamble[6], minor = preamble[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw Invalid(full, $"unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)");
        long headerLength;
        int preambleLength;
        if (major == 1)
        {
            ReadExactly(stream, preamble[8..10], full, "the header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]);
            preambleLength = 10;
        }
        else
        {
            ReadExactly(stream, preamble[8..12], full, "the header length");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
            preambleLength = 12;
        }
        if (headerLength > MaxHeaderLength)
            throw Invalid(full, $"header length {headerLength} is implausibly large");
        if (preambleLength + headerLength > fileLength)
            throw Invalid(full, $"truncated: the header needs {headerLength} bytes, the file has {fileLength - preambleLength} after the preamble");
        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, full, "the header");
        // Versions 1 and 2 store the header as latin-1, version 3 as UTF-8.
        string headerText = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var (dtype, shape, expected) = ParseHeader(headerText, full);

        long available = fileLength - preambleLength - headerLength;
        if (available < expected)
            throw Invalid(full, $"truncated: shape {Tensor.FormatShape(shape)} of {Descr(dtype)} needs {expected} data bytes, the file has {available}");
        if (available > expected)
            throw Invalid(full, $"shape {Tensor.FormatShape(shape)} of {Descr(dtype)} needs {expected} data bytes, but {available - expected} more follow");
        if (expected > Array.MaxLength)
            throw new MixDQException(ErrorCodes.TensorTooLarge, $"the array has {expected} bytes, more than one buffer holds", full);
        var data = new byte[expected];
        ReadExactly(stream, data, full, "the data");
        return new NpyArray(dtype, shape, data);
    }

    public static void WriteFloat32(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        byte[] header = BuildHeader(DType.F32, tensor.Shape);
        float[] data = tensor.Data;
        AtomicFile.Write(path, s =>
        {
            s.Write(header);
            s.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        });
    }

    /// <summary>Writes the tensor as <c>&lt;f2</c>, rounding to nearest even.</summary>
    public static void WriteFloat16(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = new byte[(long)tensor.Length * 2];
        DTypeConversions.SingleToHalf(tensor.Data, bytes);
        WriteRaw(path, DType.F16, tensor.Shape, bytes);
    }

    /// <exception cref="ArgumentException"><paramref name="data"/> does not have shape's element count.</exception>
    public static void WriteUInt8(string path, ReadOnlySpan<byte> data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length != Tensor.ElementCount(shape))
            throw new ArgumentException($"shape {Tensor.FormatShape(shape)} needs {Tensor.ElementCount(shape)} bytes, data has {data.Length}", nameof(data));
        WriteRaw(path, DType.U8, shape, data.ToArray());
    }

    /// <summary>Writes any array (BF16 excepted).</summary>
    public static void Write(string path, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        WriteRaw(path, array.DType, array.Shape, array.Bytes);
    }

    private static void WriteRaw(string path, DType dtype, ReadOnlySpan<int> shape, byte[] bytes)
    {
        byte[] header = BuildHeader(dtype, shape);
        AtomicFile.Write(path, s =>
        {
            s.Write(header);
            s.Write(bytes);
        });
    }

    /// <summary>
    /// Magic, version, length and the dict, padded with spaces and ended by a newline so the data
    /// starts on a 64-byte boundary. Version 1.0 unless the header needs more than 65535 bytes.
    /// </summary>
    internal static byte[] BuildHeader(DType dtype, ReadOnlySpan<int> shape)
    {
        string shapeText = shape.Length switch
        {
            0 => "()",
            1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", shape.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        string dict = $"{{'descr': '{Descr(dtype)}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int preamble = 10;
        int total = (preamble + dict.Length + 1 + Alignment - 1) / Alignment * Alignment;
        if (total - preamble > ushort.MaxValue)
        {
            preamble = 12;
            total = (preamble + dict.Length + 1 + Alignment - 1) / Alignment * Alignment;
        }
        int headerLength = total - preamble;
        var result = new byte[total];
        Magic.CopyTo(result, 0);
        result[6] = preamble == 10 ? (byte)1 : (byte)2;
        result[7] = 0;
        if (preamble == 10) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)headerLength);
        else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)headerLength);
        Encoding.ASCII.GetBytes(dict, result.AsSpan(preamble));
        result.AsSpan(preamble + dict.Length, headerLength - dict.Length - 1).Fill((byte)' ');
        result[^1] = (byte)'\n';
        return result;
    }

    private static (DType DType, int[] Shape, long ByteLength) ParseHeader(string text, string path)
    {
        Dictionary<string, object?> dict;
        try { dict = NpyHeaderParser.ParseDict(text); }
        catch (FormatException e)
        {
            throw Invalid(path, $"the header is not a valid dict literal: {e.Message}");
        }
        var keys = dict.Keys.Order(StringComparer.Ordinal).ToArray();
        if (!keys.SequenceEqual(["descr", "fortran_order", "shape"]))
            throw Invalid(path, $"the header must hold exactly 'descr', 'fortran_order' and 'shape', found {string.Join(", ", keys.Select(k => $"'{k}'"))}");
        if (dict["fortran_order"] is not bool fortran)
            throw Invalid(path, "'fortran_order' must be True or False");
        if (fortran)
            throw Invalid(path, "Fortran-order arrays are not supported (save with C order)");
        if (dict["descr"] is not string descr)
            throw Invalid(path, "'descr' is not a simple type string (structured arrays are not supported)");
        var dtype = ParseDescr(descr, path);
        if (dict["shape"] is not List<object?> dims)
            throw Invalid(path, "'shape' must be a tuple of integers");
        var shape = new int[dims.Count];
        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] is not long d || d < 0 || d > int.MaxValue)
                throw Invalid(path, $"'shape' item {i} must be an integer in [0, {int.MaxValue}], found {dims[i] ?? "None"}");
            shape[i] = (int)d;
        }
        long byteLength = DTypeInfo.SizeOf(dtype);
        try
        {
            foreach (int d in shape) byteLength = checked(byteLength * d);
        }
        catch (OverflowException)
        {
            throw Invalid(path, $"shape {Tensor.FormatShape(shape)} is too large");
        }
        return (dtype, shape, byteLength);
    }

    private static DType ParseDescr(string descr, string path)
    {
        if (descr.Length >= 2 && descr[0] == '>' && descr[1..] is not ("u1" or "i1" or "b1"))
            throw Invalid(path, $"big-endian dtype '{descr}' is not supported (save as little-endian '<{descr[1..]}')");
        return descr switch
        {
            "<f4" => DType.F32,
            "<f2" => DType.F16,
            "<f8" => DType.F64,
            "<i8" => DType.I64,
            "<i4" => DType.I32,
            "<i2" => DType.I16,
            "|i1" or "<i1" or ">i1" or "i1" => DType.I8,
            "|u1" or "<u1" or ">u1" or "u1" => DType.U8,
            "|b1" or "<b1" or ">b1" or "b1" => DType.BOOL,
            _ => throw Invalid(path, $"unsupported dtype '{descr}' (supported: <f4, <f2, <f8, <i8, <i4, <i2, |i1, |u1, |b1)"),
        };
    }

    private static string Descr(DType dtype) => dtype switch
    {
        DType.F32 => "<f4",
        DType.F16 => "<f2",
        DType.F64 => "<f8",
        DType.I64 => "<i8",
        DType.I32 => "<i4",
        DType.I16 => "<i2",
        DType.I8 => "|i1",
        DType.U8 => "|u1",
        DType.BOOL => "|b1",
        _ => throw new ArgumentException($"numpy has no {dtype} type", nameof(dtype)),
    };

    private static FileStream OpenRead(string full)
    {
        try
        {
            return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, "the file does not exist", full, inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot open the file: {e.Message}", full, inner: e);
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Invalid(path, $"truncated: the file ends inside {what}");
        }
        catch (IOException e)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read the file: {e.Message}", path, inner: e);
        }
    }

    private static MixDQException Invalid(string path, string what) => new(ErrorCodes.NpyInvalid, what, path);
}
