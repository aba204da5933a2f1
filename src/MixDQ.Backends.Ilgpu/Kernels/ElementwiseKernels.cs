using ILGPU;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>Pointwise and layout kernels: one implicitly grouped thread per output element (memory-bound, no reuse to tile for).</summary>
internal static class ElementwiseKernels
{
    public static void Activate(Index1D i, ArrayView<float> x, ArrayView<float> y, int activation) =>
        y[i] = Activations.Apply(x[i], activation);

    /// <summary>y[r, c] = x[r, c]·GELU(x[r, C + c]).</summary>
    public static void Geglu(Index1D i, ArrayView<float> x, ArrayView<float> y, int channels)
    {
        int r = i / channels, c = i - r * channels;
        int o = r * 2 * channels + c;
        y[i] = x[o] * Activations.Gelu(x[o + channels]);
    }

    public static void Add(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y) => y[i] = a[i] + b[i];

    /// <summary>y = x + bias[i / spatial] (bias [B, C] over x [B, C, spatial]).</summary>
    public static void AddChannelBias(Index1D i, ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y, int spatial) =>
        y[i] = x[i] + bias[i / spatial];

    public static void Affine(Index1D i, ArrayView<float> x, ArrayView<float> y, float scale, float shift) => y[i] = scale * x[i] + shift;

    /// <summary>PyTorch 'nearest': source index floor(dst·in/out), in integers.</summary>
    public static void UpsampleNearest(Index1D i, ArrayView<float> x, ArrayView<float> y, int h, int w, int outH, int outW)
    {
        int ox = i % outW, rest = i / outW, oy = rest % outH, plane = rest / outH;
        y[i] = x[(plane * h + oy * h / outH) * w + ox * w / outW];
    }

    /// <summary>Concatenation of a [outer, innerA] and b [outer, innerB] along the inner axis.</summary>
    public static void Concat(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int innerA, int innerB)
    {
        int width = innerA + innerB, o = i / width, c = i - o * width;
        y[i] = c < innerA ? a[o * innerA + c] : b[o * innerB + c - innerA];
    }

    /// <summary>Per batch item, [rows, cols] → [cols, rows] (NCHW ↔ tokens).</summary>
    public static void Transpose(Index1D i, ArrayView<float> x, ArrayView<float> y, int rows, int cols)
    {
        int plane = rows * cols, b = i / plane, e = i - b * plane;
        int c = e / rows, r = e - c * rows; // y[b, c, r] = x[b, r, c]
        y[i] = x[b * plane + r * cols + c];
    }

    /// <summary>y[t, c] = table[ids[t], c].</summary>
    public static void Embedding(Index1D i, ArrayView<float> table, ArrayView<int> ids, ArrayView<float> y, int channels)
    {
        int t = i / channels, c = i - t * channels;
        y[i] = table[ids[t] * channels + c];
    }

    /// <summary>
    /// The BOS row at token 0 of every sequence of y [sequences·tokens, n] (BOS-aware cross-attention keys/values emit the
    /// build-time FP row there instead of the quantized GEMM's).
    /// </summary>
    public static void BosRows(Index1D i, ArrayView<float> y, ArrayView<float> bos, int n, int tokens)
    {
        int sequence = i / n, c = i - sequence * n;
        y[sequence * tokens * n + c] = bos[c];
    }
}
