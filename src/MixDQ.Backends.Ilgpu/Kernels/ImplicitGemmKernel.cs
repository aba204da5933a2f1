using ILGPU;
using ILGPU.Runtime;
using Half = ILGPU.Half;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>A weight element the GEMM reads: FP32, or FP16 (half the memory and bandwidth) widened to FP32 in registers.</summary>
public interface IWeightElement
{
    float Value { get; }
}

/// <summary>An FP32 weight element.</summary>
public readonly struct Fp32Weight(float value) : IWeightElement
{
    private readonly float _value = value;

    public float Value => _value;
}

/// <summary>
/// An FP16 weight element (<see cref="ILGPU.Half"/>, which ILGPU compiles; System.Half does not). Rounded on the host by
/// System.Half, to nearest even as PyTorch's .half() and CUDA's cvt.rn.f16.f32 (ILGPU's own float→half conversion truncates).
/// </summary>
public readonly struct Fp16Weight(float value) : IWeightElement
{
    private readonly Half _value = FromBits(BitConverter.HalfToUInt16Bits((System.Half)value));

    public float Value => _value;

    /// <summary>ILGPU.Half is one ushort of IEEE binary16 bits (its constructor from bits is internal).</summary>
    private static Half FromBits(ushort bits) => System.Runtime.CompilerServices.Unsafe.As<ushort, Half>(ref bits);
}

/// <summary>The weight matrix [N, K] the GEMM reads, one element at a time while staging its B tile (a kernel parameter: views inside).</summary>
public interface IGemmWeights
{
    /// <summary>w[n, k] as FP32, for a matrix of <paramref name="depth"/> columns.</summary>
    float Load(int n, int k, int depth);
}

/// <summary>Dense weights (FP32 or FP16 elements), row-major [N, K].</summary>
public struct DenseWeights<TElement> : IGemmWeights where TElement : unmanaged, IWeightElement
{
    public ArrayView<TElement> Values;

    public readonly float Load(int n, int k, int depth) => Values[n * depth + k].Value;
}

/// <summary>
/// Weight-only integer weights (WxA16): the stored packed rows (<see cref="PackedCodes"/>) dequantized per element while
/// the B tile is staged, s[n]·(code − z[n]), so device memory holds only the packed codes.
/// </summary>
public struct PackedWeights<TWidth> : IGemmWeights where TWidth : struct, ICodeWidth
{
    public ArrayView<byte> Codes;
    public ArrayView<float> Scales;
    public ArrayView<int> Zeros;

    public readonly float Load(int n, int k, int depth) =>
        Scales[n] * (PackedCodes.Code<TWidth>(Codes, (long)n * PackedCodes.RowBytes<TWidth>(depth), k) - Zeros[n]);
}

/// <summary>Four floats held in registers (ILGPU lowers a struct of scalars to scalars, unlike a local array).</summary>
internal struct Float4
{
    public float X, Y, Z, W;
}

/// <summary>
/// Convolution (and, as a 1×1 convolution of 1×1 images, linear) as one implicit GEMM, tiled in shared memory in the
/// style of ILGPU's MatrixMultiply sample but with register blocking: C[M = B·OH·OW, N = Cout] = im2col(x)[M, K]·Wᵀ,
/// K = Cin·KS·KS. A group of 16×16 threads computes a 64×64 tile of C, each thread 4×4 outputs, over K in steps of 16;
/// the im2col gather happens while the A tile is loaded, so no im2col matrix is ever written. Accumulation is FP32
/// whatever the weight element. Every shape parameter but the batch is a <see cref="SpecializedValue{T}"/>: ILGPU
/// compiles one kernel per distinct layer shape with them as constants (the batch stays dynamic so a warm-up launch
/// with batch 0 compiles a spec without touching real data).
/// </summary>
internal static class ImplicitGemmKernel
{
    public const int TileM = 64;
    public const int TileN = 64;
    public const int TileK = 16;
    public const int GroupX = 16;
    public const int GroupY = 16;
    private const int Threads = GroupX * GroupY;

    /// <summary>Groups and group shape of a call: x tiles N, y tiles M.</summary>
    public static KernelConfig Config(int m, int n) =>
        new(new Index2D((n + TileN - 1) / TileN, Math.Max(1, (m + TileM - 1) / TileM)), new Index2D(GroupX, GroupY));

    public static void Run<TWeights>(
        ArrayView<float> x, TWeights w, ArrayView<float> bias, ArrayView<float> y, int batch,
        SpecializedValue<int> inChannels, SpecializedValue<int> height, SpecializedValue<int> width,
        SpecializedValue<int> kernelSize, SpecializedValue<int> stride, SpecializedValue<int> padding,
        SpecializedValue<int> outHeight, SpecializedValue<int> outWidth, SpecializedValue<int> outChannels)
        where TWeights : struct, IGemmWeights
    {
        int cin = inChannels.Value, h = height.Value, wd = width.Value, ks = kernelSize.Value;
        int s = stride.Value, p = padding.Value, oh = outHeight.Value, ow = outWidth.Value, n = outChannels.Value;
        int kk = ks * ks, k = cin * kk, ohw = oh * ow, m = batch * ohw;
        if (m == 0) return; // the warm-up launch of Specialize (uniform over the grid, so no barrier is split)
        // A linear layer's rows are K apart: its threads walk k while loading A (coalesced) and n while storing ([M, N] rows).
        bool linear = kk == 1 && h == 1 && wd == 1;

        var aTile = SharedMemory.Allocate<float>(TileK * TileM); // [k][m]
        var bTile = SharedMemory.Allocate<float>(TileK * TileN); // [k][n]

        int tx = Group.IdxX, ty = Group.IdxY, t = ty * GroupX + tx;
        int rt = linear ? ty : tx, ct = linear ? tx : ty; // the thread's row and column within the 16×16 grid of 4×4 blocks
        int m0 = Grid.IdxY * TileM, n0 = Grid.IdxX * TileN;

        Float4 c0 = default, c1 = default, c2 = default, c3 = default; // c_j holds n = ty + 16j, components m = tx + 16i

        for (int k0 = 0; k0 < k; k0 += TileK)
        {
            // A tile: consecutive threads take consecutive m (output pixels, contiguous in NCHW) or, for a linear layer, consecutive k.
            for (int e = t; e < TileK * TileM; e += Threads)
            {
                int mi = linear ? e / TileK : e % TileM, ki = linear ? e % TileK : e / TileM;
                int gm = m0 + mi, gk = k0 + ki;
                float v = 0;
                if (gm < m && gk < k)
                {
                    int b = gm / ohw, pix = gm - b * ohw, oy = pix / ow, ox = pix - oy * ow;
                    int ci = gk / kk, r = gk - ci * kk, ky = r / ks, kx = r - ky * ks;
                    int iy = oy * s - p + ky, ix = ox * s - p + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                        v = x[((b * cin + ci) * h + iy) * wd + ix];
                }
                aTile[ki * TileM + mi] = v;
            }
            // B tile: consecutive threads take consecutive k of one weight row.
            for (int e = t; e < TileK * TileN; e += Threads)
            {
                int ki = e % TileK, ni = e / TileK;
                int gn = n0 + ni, gk = k0 + ki;
                bTile[ki * TileN + ni] = gn < n && gk < k ? w.Load(gn, gk, k) : 0f;
            }
            Group.Barrier();

            for (int kq = 0; kq < TileK; kq++)
            {
                int ao = kq * TileM + rt, bo = kq * TileN + ct;
                Float4 a;
                a.X = aTile[ao];
                a.Y = aTile[ao + 16];
                a.Z = aTile[ao + 32];
                a.W = aTile[ao + 48];
                c0 = Fma(c0, a, bTile[bo]);
                c1 = Fma(c1, a, bTile[bo + 16]);
                c2 = Fma(c2, a, bTile[bo + 32]);
                c3 = Fma(c3, a, bTile[bo + 48]);
            }
            Group.Barrier();
        }

        Store(y, bias, c0, m0 + rt, n0 + ct, m, n, ohw);
        Store(y, bias, c1, m0 + rt, n0 + ct + 16, m, n, ohw);
        Store(y, bias, c2, m0 + rt, n0 + ct + 32, m, n, ohw);
        Store(y, bias, c3, m0 + rt, n0 + ct + 48, m, n, ohw);
    }

    private static Float4 Fma(Float4 c, Float4 a, float b)
    {
        c.X = DeviceMath.Fma(a.X, b, c.X);
        c.Y = DeviceMath.Fma(a.Y, b, c.Y);
        c.Z = DeviceMath.Fma(a.Z, b, c.Z);
        c.W = DeviceMath.Fma(a.W, b, c.W);
        return c;
    }


    /// <summary>Writes the four outputs (m, m+16, m+32, m+48) of output channel <paramref name="gn"/>, NCHW.</summary>
    private static void Store(ArrayView<float> y, ArrayView<float> bias, Float4 c, int gm, int gn, int m, int n, int ohw)
    {
        if (gn >= n) return;
        float b = bias[gn];
        StoreOne(y, c.X + b, gm, gn, m, n, ohw);
        StoreOne(y, c.Y + b, gm + 16, gn, m, n, ohw);
        StoreOne(y, c.Z + b, gm + 32, gn, m, n, ohw);
        StoreOne(y, c.W + b, gm + 48, gn, m, n, ohw);
    }

    private static void StoreOne(ArrayView<float> y, float v, int gm, int gn, int m, int n, int ohw)
    {
        if (gm >= m) return;
        int b = gm / ohw, pix = gm - b * ohw;
        y[(b * n + gn) * ohw + pix] = v;
    }
}
