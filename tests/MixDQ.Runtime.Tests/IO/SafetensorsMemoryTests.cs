using System.Buffers.Binary;
using System.Text;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

/// <summary>The file is mapped, never copied: managed allocation tracks the tensors converted, not the file size.</summary>
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
}
