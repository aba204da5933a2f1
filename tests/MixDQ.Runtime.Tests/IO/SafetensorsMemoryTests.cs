using System.Buffers.Binary;
using System.Text;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

/// <summary>
/// Opening reads the header only, raw access is a view into the mapping, and FP32 reads go straight from the
/// file into the destination: managed allocation and resident memory track the tensors converted, not the file.
/// </summary>
public class SafetensorsMemoryTests
{
    private const int TensorCount = 32;
    private const int ElementsPerTensor = 256 * 1024; // 512 KiB of F16 each, 16 MiB file

    private static string WriteF16File(TempDir dir, string name)
    {
        var rng = new Random(5);
        var entries = new List<SafetensorsEntry>();
        for (int i = 0; i < TensorCount; i++)
        {
            var bytes = new byte[ElementsPerTensor * 2];
            rng.NextBytes(bytes);
            for (int j = 1; j < bytes.Length; j += 2) bytes[j] &= 0x3B; // finite, moderate values
            entries.Add(new SafetensorsEntry($"layer{i:D2}.weight", DType.F16, [512, 512], bytes));
        }
        string path = dir.File(name);
        SafetensorsWriter.Write(path, entries);
        return path;
    }

    [Fact]
    public void Opening_and_reading_tensors_one_by_one_allocates_only_the_tensors_read()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = WriteF16File(dir, "big.safetensors");
        long fileLength = new FileInfo(path).Length;
        Assert.True(fileLength > 16_000_000);

        // Warm up (JIT, type loading) on the same code path so the measurement sees steady state only.
        using (var warm = SafetensorsFile.Open(path)) _ = warm.ReadFloat32("layer00.weight");

        long before = GC.GetAllocatedBytesForCurrentThread();
        using var file = SafetensorsFile.Open(path);
        long afterOpen = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(afterOpen - before < 256 * 1024, $"open allocated {afterOpen - before} bytes for a {fileLength}-byte file");

        // Raw access is a view into the mapping: touching every byte of every tensor allocates nothing of size.
        long checksum = 0;
        foreach (var info in file.Tensors)
        {
            var raw = file.GetRawBytes(info.Name);
            checksum += raw[0] + raw[^1];
        }
        long afterRaw = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(afterRaw - afterOpen < 64 * 1024, $"raw access allocated {afterRaw - afterOpen} bytes");

        const int read = 4;
        long floatBytes = (long)read * ElementsPerTensor * sizeof(float);
        for (int i = 0; i < read; i++)
        {
            var t = file.ReadFloat32($"layer{i * 7:D2}.weight");
            Assert.Equal(ElementsPerTensor, t.Length);
        }
        long delta = GC.GetAllocatedBytesForCurrentThread() - afterRaw;
        Assert.True(delta >= floatBytes, $"reading {read} tensors allocated only {delta} bytes: the measurement is broken");
        Assert.True(delta < floatBytes + 64 * 1024, $"reading {read} tensors ({floatBytes} bytes of FP32) allocated {delta} bytes; the file has {fileLength}");
        Assert.NotEqual(-1, checksum);
    }

    [Fact]
    public void Files_larger_than_2_GiB_are_read_with_64_bit_offsets()
    {
        // A sparse file: a 3 GB U8 filler tensor that is never written, then a small F32 tensor behind it.
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("huge.safetensors");
        const long filler = 3_000_000_000;
        string json = "{\"filler\":{\"dtype\":\"U8\",\"shape\":[3,1000000000],\"data_offsets\":[0," + filler + "]}," +
                      "\"tail\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + filler + "," + (filler + 16) + "]}}";
        byte[] header = Encoding.UTF8.GetBytes(json);
        long dataStart = 8 + header.Length;
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            fs.Write(len);
            fs.Write(header);
            fs.SetLength(dataStart + filler + 16);
            fs.Position = dataStart + filler;
            foreach (float v in new[] { 1.5f, -2f, 3.25f, 1e-3f }) fs.Write(BitConverter.GetBytes(v));
        }

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(dataStart + filler + 16, file.FileLength);
        Assert.Equal([1.5f, -2f, 3.25f, 1e-3f], file.ReadFloat32("tail").Data);
        Assert.True(file.TryGetInfo("filler", out var info));
        Assert.Equal(filler, info.ByteLength);
        RawSafetensors.AssertFails(ErrorCodes.TensorTooLarge, path, "filler", () => file.GetRawBytes("filler"));
        RawSafetensors.AssertFails(ErrorCodes.TensorTooLarge, path, "filler", () => file.ReadFloat32("filler"));
    }

    [Fact]
    public void Float32_reads_do_not_touch_the_mapping_so_the_file_never_counts_in_resident_memory()
    {
        // /proc/self/smaps is Linux's per-mapping account; other systems have no equivalent to check here.
        if (!OperatingSystem.IsLinux()) return;
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("resident.safetensors");
        var rng = new Random(3);
        var f32 = Tensor.Zeros(1024, 1024);
        for (int i = 0; i < f32.Length; i++) f32.Data[i] = (float)rng.NextDouble();
        var f16Source = Tensor.Zeros(512, 1024);
        for (int i = 0; i < f16Source.Length; i++) f16Source.Data[i] = (float)rng.NextDouble();
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromTensor("a", f32), SafetensorsEntry.FromTensor("b", f16Source, DType.F16)]);
        long fileLength = new FileInfo(path).Length;

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(f32.Data, file.ReadFloat32("a").Data);
        var b = file.ReadFloat32("b");
        for (int i = 0; i < b.Length; i++) Assert.Equal((float)(Half)f16Source.Data[i], b.Data[i]);
        // Only the header's pages (and the kernel's fault-around neighbours, 64 KiB by default) are mapped in.
        long afterReads = MappedResidentBytes(path);
        Assert.True(afterReads < 256 * 1024, $"reading 6 MiB of tensors made {afterReads} bytes of the mapping resident");

        // The measurement itself: touching the raw bytes does make the mapping resident.
        long sum = 0;
        foreach (string name in new[] { "a", "b" })
        {
            var raw = file.GetRawBytes(name);
            for (int i = 0; i < raw.Length; i += 4096) sum += raw[i];
        }
        long afterRaw = MappedResidentBytes(path);
        Assert.True(afterRaw > fileLength * 9 / 10, $"touching every page of a {fileLength}-byte mapping left only {afterRaw} bytes resident: the measurement is broken");
        Assert.NotEqual(-1, sum);
    }

    [Fact]
    public void A_file_shortened_after_opening_is_a_truncation_error_naming_the_tensor()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("shrinks.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromTensor("first", Tensor.FromSpan([1f, 2f], 2)),
            SafetensorsEntry.FromTensor("second", Tensor.FromSpan([3f, 4f, 5f, 6f], 4))]);
        using var file = SafetensorsFile.Open(path);
        using (var shorten = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            shorten.SetLength(shorten.Length - 8);

        Assert.Equal([1f, 2f], file.ReadFloat32("first").Data);
        RawSafetensors.AssertFails(ErrorCodes.FileTruncated, path, "second", () => file.ReadFloat32("second"));
    }

    /// <summary>The resident bytes of this process's mappings of <paramref name="path"/>, from /proc/self/smaps.</summary>
    private static long MappedResidentBytes(string path)
    {
        string full = Path.GetFullPath(path);
        long total = 0;
        bool inFile = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            string[] parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
                inFile = parts.Length >= 6 && string.Join(' ', parts[5..]) == full;
            else if (inFile && parts.Length == 3 && parts[0] == "Rss:")
                total += long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return total;
    }
}
