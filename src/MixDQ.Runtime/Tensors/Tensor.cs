using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Tensors;

/// <summary>
/// A dense, row-major FP32 tensor held in host memory. Reshape shares the buffer; every op of a
/// backend returns a new tensor, so a tensor's data is only ever written by the op that created it
/// (until its owner hands it back with <see cref="Backends.IComputeBackend.Release"/> for reuse).
/// </summary>
public sealed class Tensor
{
    private readonly int[] _shape;

    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        _shape = (int[])shape.Clone();
        long n = ElementCount(_shape);
        if (n != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] needs {n} elements, data has {data.Length}");
        Data = data;
    }

    /// <summary>
    /// A tensor with a shape and no elements: what the forward tracer (<see cref="Compiled.Tracing.TracingBackend"/>)
    /// passes through the model graphs at build time, so SDXL-sized graphs trace without their memory.
    /// </summary>
    internal static Tensor ShapeOnly(params int[] shape) => new(shape);

    private Tensor(int[] shape)
    {
        _shape = (int[])shape.Clone();
        _ = ElementCount(_shape);
        Data = [];
        IsShapeOnly = true;
    }

    /// <summary>True for the tracer's element-less tensors.</summary>
    internal bool IsShapeOnly { get; }

    /// <summary>The elements, row-major.</summary>
    public float[] Data { get; }

    /// <summary>The dimensions (a copy is never needed: callers must not mutate it).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    public int Rank => _shape.Length;

    public int Length => Data.Length;

    public Span<float> Span => Data;

    /// <summary>Dimension <paramref name="axis"/>; negative counts from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? _shape.Length + axis : axis];

    public int[] ShapeArray() => (int[])_shape.Clone();

    public static Tensor Zeros(params int[] shape) => new(new float[checked((int)ElementCount(shape))], shape);

    public static Tensor FromSpan(ReadOnlySpan<float> values, params int[] shape) => new(values.ToArray(), shape);

    /// <summary>The same data seen with another shape of the same element count.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            shape = (int[])shape.Clone();
            shape[infer] = 1;
            shape[infer] = (int)(ElementCount(_shape) / ElementCount(shape));
        }
        if (IsShapeOnly)
        {
            if (ElementCount(shape) != ElementCount(_shape))
                throw new ArgumentException($"cannot view {FormatShape(_shape)} as {FormatShape(shape)}");
            return ShapeOnly(shape);
        }
        return new Tensor(Data, shape);
    }

    public Tensor Clone() => new((float[])Data.Clone(), _shape);

    public bool SameShape(Tensor other) => Shape.SequenceEqual(other.Shape);

    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException("negative dimension");
            n *= d;
        }
        return n;
    }

    public static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public override string ToString() => $"Tensor{FormatShape(Shape)}";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref float At(int i) => ref Data[i];
}
