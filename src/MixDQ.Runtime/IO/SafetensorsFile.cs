using System.Buffers;
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// A safetensors file: opening parses and validates the header only, so a 10 GB file costs no managed
/// memory beyond the tensors actually converted. <see cref="ReadFloat32(string)"/> reads a tensor's bytes
/// with positional reads straight into the FP32 destination (through a small buffer when converting),
/// never through the mapping: mapped pages, once touched, count in the process's resident memory until
/// the file is closed, which would add the file's size on top of the FP32 copies while a model loads.
/// <see cref="GetRawBytes"/> gives views into a read-only memory mapping. Reads may run concurrently;
/// <see cref="Dispose"/> must not race them.
/// </summary>
public sealed unsafe class SafetensorsFile : ITensorFile, IMappedTensorSource
{
    /// <summary>Bytes converted per positional read when the stored type is not F32.</summary>
    private const int ConversionChunkBytes = 1 << 20;

    /// <summary>Bytes per positional read of F32 data (whole tensors up to this size take one read).</summary>
    private const int F32ChunkBytes = 1 << 30;

    private readonly FileStream _stream;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsEntryLocation> _byName;
    private readonly List<SafetensorsEntryLocation> _inFileOrder;
    private bool _disposed;

    private SafetensorsFile(string path, long fileLength, FileStream stream, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data,
        long dataOffset, SafetensorsHeader header)
    {
        Path = path;
        FileLength = fileLength;
        DataOffset = dataOffset;
        _stream = stream;
        _map = map;
        _view = view;
        _data = data;
        _inFileOrder = header.Entries;
        _byName = header.Entries.ToDictionary(e => e.Info.Name, StringComparer.Ordinal);
        Metadata = header.Metadata;
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    public string Origin => Path;

    /// <summary>The size of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Where the data section starts in the file: 8 + the header length.</summary>
    public long DataOffset { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in the order their bytes appear in the file (sequential reading pages in best).</summary>
    public IEnumerable<TensorInfo> Tensors => _inFileOrder.Select(e => e.Info);

    /// <summary>Opens and validates <paramref name="path"/>; every defect is a <see cref="MixDQException"/> naming the file.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        FileStream stream = OpenStream(full);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool pointerAcquired = false;
        try
        {
            long length = stream.Length;
            if (length < 8)
                throw new MixDQException(ErrorCodes.FileTruncated, $"the file has {length} bytes, fewer than the 8-byte header length", full);
            // The stream stays open beside the mapping: ReadFloat32 reads through its handle.
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            pointerAcquired = true;
            byte* start = basePointer + view.PointerOffset;

            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(start, 8));
            if (headerLength > SafetensorsHeader.MaxHeaderLength)
                throw new MixDQException(ErrorCodes.HeaderLengthInvalid,
                    $"header length {headerLength} exceeds the format's limit of {SafetensorsHeader.MaxHeaderLength} bytes", full);
            if ((long)headerLength > length - 8)
                throw new MixDQException(ErrorCodes.HeaderLengthInvalid,
                    $"header length {headerLength} runs past the end of the file ({length} bytes)", full);
            long dataOffset = 8 + (long)headerLength;
            var header = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(start + 8, (int)headerLength), length - dataOffset, full);
            return new SafetensorsFile(full, length, stream, map, view, start + dataOffset, dataOffset, header);
        }
        catch (Exception e)
        {
            if (pointerAcquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            if (e is IOException or UnauthorizedAccessException)
                throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot map the file: {e.Message}", full, inner: e);
            throw;
        }
    }

    private static FileStream OpenStream(string full)
    {
        try
        {
            return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
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

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_byName.TryGetValue(name, out var e))
        {
            info = e.Info;
            return true;
        }
        info = null!;
        return false;
    }

    /// <summary>True when the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The stored bytes of <paramref name="name"/>, pointing into the mapping (valid until disposed).</summary>
    public ReadOnlySpan<byte> GetRawBytes(string name)
    {
        var e = Find(name);
        if (e.ByteLength > int.MaxValue)
            throw new MixDQException(ErrorCodes.TensorTooLarge,
                $"tensor '{name}' has {e.ByteLength} bytes; a span holds at most {int.MaxValue}", Path, name);
        return new ReadOnlySpan<byte>(_data + e.Begin, (int)e.ByteLength);
    }

    MappedTensor? IMappedTensorSource.TryMap(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _byName.TryGetValue(name, out var e) ? new MappedTensor(_view.SafeMemoryMappedViewHandle, _data + e.Begin, e.ByteLength, e.Info) : null;
    }

    /// <summary>The tensor converted to FP32 (F32 copied; F16/BF16 vectorized; F64, integers and BOOL per element).</summary>
    public Tensor ReadFloat32(string name)
    {
        var e = Find(name);
        long count = e.Info.ElementCount;
        if (count > Array.MaxLength)
            throw new MixDQException(ErrorCodes.TensorTooLarge,
                $"tensor '{name}' has {count} elements; an FP32 tensor holds at most {Array.MaxLength}", Path, name);
        // Every element is overwritten by the read, so the array need not be zeroed first.
        var data = GC.AllocateUninitializedArray<float>((int)count);
        ConvertInto(e, 0, data);
        return new Tensor(data, e.Info.Shape);
    }

    public void ReadFloat32(string name, Span<float> destination)
    {
        var e = Find(name);
        if (destination.Length != e.Info.ElementCount)
            throw new ArgumentException($"tensor '{name}' has {e.Info.ElementCount} elements, the destination {destination.Length}", nameof(destination));
        ConvertInto(e, 0, destination);
    }

    public void ReadFloat32(string name, long start, Span<float> destination)
    {
        var e = Find(name);
        TensorRanges.Check(name, e.Info.ElementCount, start, destination.Length);
        ConvertInto(e, start, destination);
    }

    /// <summary>
    /// Reads and converts elements from <paramref name="start"/> on in chunks (so tensors whose stored bytes exceed one
    /// span, over 2 GiB, still convert): F32 bytes land directly in the destination, other types go through one pooled buffer.
    /// </summary>
    private void ConvertInto(SafetensorsEntryLocation e, long start, Span<float> destination)
    {
        var dtype = e.Info.DType;
        long offset = DataOffset + e.Begin + start * DTypeInfo.SizeOf(dtype);
        if (dtype == DType.F32)
        {
            const int chunkElements = F32ChunkBytes / sizeof(float);
            for (int i = 0; i < destination.Length; i += chunkElements)
            {
                var chunk = MemoryMarshal.AsBytes(destination.Slice(i, Math.Min(chunkElements, destination.Length - i)));
                ReadAt(offset + (long)i * sizeof(float), chunk, e.Info.Name);
            }
            return;
        }
        int size = DTypeInfo.SizeOf(dtype);
        int elementsPerChunk = ConversionChunkBytes / size;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(elementsPerChunk, destination.Length) * size);
        try
        {
            for (int i = 0; i < destination.Length; i += elementsPerChunk)
            {
                int n = Math.Min(elementsPerChunk, destination.Length - i);
                var bytes = buffer.AsSpan(0, n * size);
                ReadAt(offset + (long)i * size, bytes, e.Info.Name);
                DTypeConversions.ToFloat32(bytes, dtype, destination.Slice(i, n));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/> of the file (a read may return less than asked).</summary>
    private void ReadAt(long offset, Span<byte> buffer, string tensor)
    {
        while (buffer.Length > 0)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_stream.SafeFileHandle, buffer, offset);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read tensor '{tensor}': {ex.Message}", Path, tensor, ex);
            }
            if (n == 0)
                throw new MixDQException(ErrorCodes.FileTruncated,
                    $"the file ended at byte {offset} while reading tensor '{tensor}'; it was shortened after it was opened", Path, tensor);
            buffer = buffer[n..];
            offset += n;
        }
    }

    public Tensor? TryReadFloat32(string name) => Contains(name) ? ReadFloat32(name) : null;

    private SafetensorsEntryLocation Find(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var e)
            ? e
            : throw new MixDQException(ErrorCodes.TensorNotFound, $"tensor '{name}' is not in the file", Path, name);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _stream.Dispose();
    }

    public override string ToString() => $"SafetensorsFile({Path}, {_byName.Count} tensors)";
}
