using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>UNet-space latents → the AutoencoderKL decoder's input, as the diffusers pipelines do it.</summary>
public static class VaeLatents
{
    /// <summary>
    /// latents·std/scale + mean when the config has per-channel <c>latents_mean/std</c> (SDXL pipeline),
    /// otherwise latents/scale (+ <c>shift_factor</c> when present).
    /// </summary>
    public static Tensor ToDecoderInput(Tensor latents, AutoencoderKLConfig vae)
    {
        var z = Tensor.Zeros(latents.ShapeArray());
        int b = latents.Dim(0), c = latents.Dim(1), plane = latents.Length / (b * c);
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
            {
                double scale, shift;
                if (vae.LatentsMean is { } mean && vae.LatentsStd is { } std)
                {
                    scale = std[ch] / vae.ScalingFactor;
                    shift = mean[ch];
                }
                else
                {
                    scale = 1 / vae.ScalingFactor;
                    shift = vae.ShiftFactor ?? 0;
                }
                int start = (n * c + ch) * plane;
                for (int i = 0; i < plane; i++) z.Data[start + i] = (float)(latents.Data[start + i] * scale + shift);
            }
        return z;
    }
}
