using ILGPU.Algorithms;
using MixDQ.Runtime.Backends;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>The pointwise functions of <see cref="Activation"/>, written with <see cref="XMath"/> so they compile for every accelerator.</summary>
internal static class Activations
{
    public static float Apply(float x, int activation) => activation switch
    {
        (int)Activation.Silu => Silu(x),
        (int)Activation.Gelu => Gelu(x),
        (int)Activation.QuickGelu => x / (1f + XMath.Exp(-1.702f * x)),
        (int)Activation.Relu => XMath.Max(x, 0f),
        (int)Activation.Tanh => XMath.Tanh(x),
        _ => x,
    };

    public static float Silu(float x) => x / (1f + XMath.Exp(-x));

    /// <summary>Exact GELU x·Φ(x); Φ(x) = ½·erfc(−x/√2) taken from erfc on the negative side (no 1 + erf cancellation).</summary>
    public static float Gelu(float x)
    {
        float z = -x * 0.70710678118654752f;
        return x * 0.5f * (z >= 0 ? Erfc(z) : 2f - Erfc(-z));
    }

    /// <summary>erfc(z) for z ≥ 0: Numerical Recipes' Chebyshev fit (relative error &lt; 1.2e-7 everywhere).</summary>
    private static float Erfc(float z)
    {
        float t = 1f / (1f + 0.5f * z);
        float poly = -z * z - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
            + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        return t * XMath.Exp(poly);
    }
}
