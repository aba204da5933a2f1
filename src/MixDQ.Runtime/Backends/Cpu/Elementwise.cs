using System.Numerics;
using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>A pointwise function on a vector of lanes; structs so that the JIT inlines it per use.</summary>
internal interface IVectorUnary
{
    static abstract Vector<float> Apply(Vector<float> x);
}

internal readonly struct IdentityOp : IVectorUnary
{
    public static Vector<float> Apply(Vector<float> x) => x;
}

internal readonly struct SiluOp : IVectorUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Apply(Vector<float> x) => VectorMath.Silu(x);
}

internal readonly struct GeluOp : IVectorUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Apply(Vector<float> x) => VectorMath.Gelu(x);
}

internal readonly struct QuickGeluOp : IVectorUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Apply(Vector<float> x) => VectorMath.QuickGelu(x);
}

internal readonly struct ReluOp : IVectorUnary
{
    public static Vector<float> Apply(Vector<float> x) => Vector.Max(x, Vector<float>.Zero);
}

internal readonly struct TanhOp : IVectorUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Apply(Vector<float> x) => VectorMath.Tanh(x);
}

/// <summary>Pointwise ops over whole tensors, split into chunks across threads.</summary>
internal static unsafe class Elementwise
{
    /// <summary>Smallest chunk worth a thread: below this, scheduling costs more than the work.</summary>
    public const int MinChunk = 1 << 15;

    public static void Activate(CpuParallel parallel, Activation activation, float[] x, float[] y)
    {
        switch (activation)
        {
            case Activation.Identity: Map<IdentityOp>(parallel, x, y); break;
            case Activation.Silu: Map<SiluOp>(parallel, x, y); break;
            case Activation.Gelu: Map<GeluOp>(parallel, x, y); break;
            case Activation.QuickGelu: Map<QuickGeluOp>(parallel, x, y); break;
            case Activation.Relu: Map<ReluOp>(parallel, x, y); break;
            case Activation.Tanh: Map<TanhOp>(parallel, x, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    public static void Map<TOp>(CpuParallel parallel, float[] x, float[] y) where TOp : struct, IVectorUnary
    {
        parallel.ForRange(x.Length, MinChunk, (start, end) =>
        {
            fixed (float* px = x, py = y) MapRange<TOp>(px + start, py + start, end - start);
        });
    }

    /// <summary>y[i] = op(x[i]); the tail goes through one padded vector so it gets the same arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MapRange<TOp>(float* x, float* y, long n) where TOp : struct, IVectorUnary
    {
        int w = Vector<float>.Count;
        long i = 0;
        for (; i <= n - w; i += w) Vector.Store(TOp.Apply(Vector.Load(x + i)), y + i);
        if (i < n)
        {
            int rest = (int)(n - i);
            float* tail = stackalloc float[w];
            new Span<float>(tail, w).Clear();
            new ReadOnlySpan<float>(x + i, rest).CopyTo(new Span<float>(tail, w));
            Vector.Store(TOp.Apply(Vector.Load(tail)), tail);
            new ReadOnlySpan<float>(tail, rest).CopyTo(new Span<float>(y + i, rest));
        }
    }

    /// <summary>[rows, 2C] → [rows, C]: value · GELU(gate).</summary>
    public static void Geglu(CpuParallel parallel, float[] x, int rows, int c, float[] y)
    {
        parallel.ForRange(rows, Math.Max(1, MinChunk / Math.Max(1, c)), (start, end) =>
        {
            int w = Vector<float>.Count;
            float* tail = stackalloc float[2 * w];
            fixed (float* px = x, py = y)
            {
                for (long r = start; r < end; r++)
                {
                    float* value = px + r * 2 * c, gate = value + c, dst = py + r * c;
                    int i = 0;
                    for (; i <= c - w; i += w)
                        Vector.Store(Vector.Load(value + i) * VectorMath.Gelu(Vector.Load(gate + i)), dst + i);
                    if (i < c)
                    {
                        int rest = c - i;
                        new Span<float>(tail, 2 * w).Clear();
                        new ReadOnlySpan<float>(value + i, rest).CopyTo(new Span<float>(tail, rest));
                        new ReadOnlySpan<float>(gate + i, rest).CopyTo(new Span<float>(tail + w, rest));
                        Vector.Store(Vector.Load(tail) * VectorMath.Gelu(Vector.Load(tail + w)), tail);
                        new ReadOnlySpan<float>(tail, rest).CopyTo(new Span<float>(dst + i, rest));
                    }
                }
            }
        });
    }

    public static void Add(CpuParallel parallel, float[] a, float[] b, float[] y)
    {
        parallel.ForRange(a.Length, MinChunk, (start, end) =>
        {
            fixed (float* pa = a, pb = b, py = y)
            {
                long i = start;
                int w = Vector<float>.Count;
                for (; i <= end - w; i += w) Vector.Store(Vector.Load(pa + i) + Vector.Load(pb + i), py + i);
                for (; i < end; i++) py[i] = pa[i] + pb[i];
            }
        });
    }

    /// <summary>y = scale·x + shift, fused where the hardware has FMA.</summary>
    public static void Affine(CpuParallel parallel, float[] x, float scale, float shift, float[] y)
    {
        parallel.ForRange(x.Length, MinChunk, (start, end) =>
        {
            fixed (float* px = x, py = y)
            {
                long i = start;
                int w = Vector<float>.Count;
                Vector<float> vs = new(scale), vt = new(shift);
                for (; i <= end - w; i += w) Vector.Store(Vector.MultiplyAddEstimate(Vector.Load(px + i), vs, vt), py + i);
                for (; i < end; i++) py[i] = MathF.FusedMultiplyAdd(px[i], scale, shift);
            }
        });
    }

    /// <summary>Adds bias[plane] to every element of each of the planes of <paramref name="planeSize"/> elements.</summary>
    public static void AddPlaneBias(CpuParallel parallel, float[] x, float[] bias, int planeSize, float[] y)
    {
        int planes = bias.Length;
        parallel.ForRange(planes, Math.Max(1, MinChunk / Math.Max(1, planeSize)), (start, end) =>
        {
            int w = Vector<float>.Count;
            fixed (float* px = x, py = y)
            {
                for (long p = start; p < end; p++)
                {
                    float* src = px + p * planeSize, dst = py + p * planeSize;
                    float b = bias[p];
                    var vb = new Vector<float>(b);
                    int i = 0;
                    for (; i <= planeSize - w; i += w) Vector.Store(Vector.Load(src + i) + vb, dst + i);
                    for (; i < planeSize; i++) dst[i] = src[i] + b;
                }
            }
        });
    }
}
