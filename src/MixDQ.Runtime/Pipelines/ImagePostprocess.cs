using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>Decoder output → 8-bit RGB, exactly as diffusers' image processor does it.</summary>
public static class ImagePostprocess
{
    /// <summary>[1, 3, H, W] in about [−1, 1] → H×W×3 bytes: round(clamp(x/2 + 0.5, 0, 1)·255).</summary>
    public static (byte[] Rgb, int Height, int Width) ToRgbBytes(Tensor image)
    {
        if (image.Rank != 4 || image.Dim(0) != 1 || image.Dim(1) != 3)
            throw new ArgumentException($"expected [1, 3, H, W], got {Tensor.FormatShape(image.Shape)}");
        int h = image.Dim(2), w = image.Dim(3), plane = h * w;
        var rgb = new byte[plane * 3];
        var d = image.Data;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
            {
                float v = Math.Clamp(d[c * plane + i] * 0.5f + 0.5f, 0f, 1f);
                // numpy's (x * 255).round() rounds half to even, as MathF.Round does by default.
                rgb[i * 3 + c] = (byte)MathF.Round(v * 255f);
            }
        return (rgb, h, w);
    }
}
