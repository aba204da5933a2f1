using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

/// <summary>Reading a range of a tensor converts exactly the elements a whole-tensor read gives at those indices.</summary>
public class SafetensorsRangeReadTests
{
    private const int Rows = 37, Cols = 53; // odd sizes: ranges end inside vectors and conversion chunks

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void A_range_equals_the_same_slice_of_the_whole_tensor_bit_for_bit(DType dtype)
    {
        using var dir = RepoPaths.NewTempDir();
        var values = new float[Rows * Cols];
        var rng = new Random(3);
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 8 - 4);
        values[7] = float.NaN;
        values[100] = float.NegativeInfinity;
        values[101] = 6.1e-8f; // an F16 subnormal
        string path = dir.File("w.safetensors");
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["w"] = new(values, Rows, Cols) }, dtype);

        using var file = SafetensorsFile.Open(path);
        var whole = file.ReadFloat32("w").Data;
        foreach (var (start, length) in new[] { (0, Rows * Cols), (0, 1), (1, 17), (53, 53), (99, 1000), (Rows * Cols - 5, 5), (Rows * Cols, 0) })
        {
            var part = new float[length];
            file.ReadFloat32("w", start, part);
            for (int i = 0; i < length; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(whole[start + i]), BitConverter.SingleToInt32Bits(part[i]));
        }
    }

    [Fact]
    public void A_range_outside_the_tensor_is_refused()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("w.safetensors");
        SafetensorsWriter.WriteTensors(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(4, 4) }, DType.F16);
        using var file = SafetensorsFile.Open(path);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadFloat32("w", 10, new float[7]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadFloat32("w", -1, new float[2]));
        using var composite = new CompositeTensorSource([new DictionaryTensorSource(new Dictionary<string, Tensor> { ["m"] = Tensor.Zeros(3) })]);
        Assert.Throws<ArgumentOutOfRangeException>(() => composite.ReadFloat32("m", 2, new float[2]));
    }

    [Fact]
    public void A_composite_reads_ranges_of_in_memory_sources_too()
    {
        using var composite = new CompositeTensorSource([new DictionaryTensorSource(new Dictionary<string, Tensor> { ["m"] = Tensor.FromSpan([1f, 2f, 3f, 4f], 4) })]);
        var part = new float[2];
        composite.ReadFloat32("m", 1, part);
        Assert.Equal([2f, 3f], part);
    }
}
