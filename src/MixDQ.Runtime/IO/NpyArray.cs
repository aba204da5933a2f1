using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>An array read from (or to be written to) a NumPy <c>.npy</c> file: C order, little-endian bytes.</summary>
public sealed class NpyArray
{
    /// <exception cref="ArgumentException">The byte count does not match shape × element size.</exception>
    public NpyArray(DType dtype, int[] shape, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(bytes);
        long expected = Tensor.ElementCount(shape) * DTypeInfo.SizeOf(dtype);
        if (bytes.Length != expected)
            throw new ArgumentException($"shape {Tensor.FormatShape(shape)} of {dtype} needs {expected} bytes, got {bytes.Length}", nameof(bytes));
        DType = dtype;
        Shape = (int[])shape.Clone();
        Bytes = bytes;
    }

    public DType DType { get; }

    /// <summary>The dimensions, C order (callers must not mutate it).</summary>
    public int[] Shape { get; }

    /// <summary>The elements as stored: little-endian, C order.</summary>
    public byte[] Bytes { get; }

    public long ElementCount => Tensor.ElementCount(Shape);

    /// <summary>The elements converted to FP32 (a 0-d array becomes a tensor of shape []).</summary>
    public Tensor ToFloat32()
    {
        var data = new float[ElementCount];
        DTypeConversions.ToFloat32(Bytes, DType, data);
        return new Tensor(data, Shape);
    }

    public override string ToString() => $"NpyArray({DType}, {Tensor.FormatShape(Shape)})";
}
