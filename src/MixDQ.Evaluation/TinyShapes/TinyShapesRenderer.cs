using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.TinyShapes;

/// <summary>
/// Renders a fully specified scene exactly as <c>tools/tiny-shapes/world.py</c> does (pixel-exact): flat
/// background, shapes in caption order, integer inside-tests at pixel centres, no anti-aliasing.
/// </summary>
public static class TinyShapesRenderer
{
    /// <summary>A new 64x64 RGB image, HWC bytes.</summary>
    public static byte[] Render(TinyShapesScene scene)
    {
        var image = new byte[TinyShapesWorld.ImageBytes];
        Render(scene, image);
        return image;
    }

    /// <summary>Renders into <paramref name="rgbHwc"/> (64*64*3 bytes).</summary>
    public static void Render(TinyShapesScene scene, Span<byte> rgbHwc)
    {
        ArgumentNullException.ThrowIfNull(scene);
        if (rgbHwc.Length != TinyShapesWorld.ImageBytes)
            throw new MixDQException(ErrorCodes.JudgeImageSize, $"Render target must be {TinyShapesWorld.ImageBytes} bytes, got {rgbHwc.Length}.");
        if (!scene.IsFullySpecified)
            throw new MixDQException(ErrorCodes.JudgePromptGrammar, "Rendering needs the size and position of every shape.", item: scene.Caption());
        Fill(rgbHwc, TinyShapesWorld.Rgb(scene.Background));
        foreach (var o in scene.Objects)
        {
            var rgb = TinyShapesWorld.Rgb(o.Colour);
            for (int y = 0; y < TinyShapesWorld.ImageSize; y++)
            {
                for (int x = 0; x < TinyShapesWorld.ImageSize; x++)
                {
                    if (!Covers(o.Shape, o.Size!.Value, o.Position!.Value, x, y)) continue;
                    int p = (y * TinyShapesWorld.ImageSize + x) * 3;
                    rgbHwc[p] = rgb.R;
                    rgbHwc[p + 1] = rgb.G;
                    rgbHwc[p + 2] = rgb.B;
                }
            }
        }
    }

    /// <summary>
    /// Whether a shape covers pixel (x, y). Doubled integer coordinates: the pixel centre is
    /// (2x+1, 2y+1), the shape centre (2cx, 2cy), the half-size 2r.
    /// </summary>
    public static bool Covers(ShapeKind shape, ShapeSize size, GridPosition position, int x, int y)
    {
        var (cx, cy) = TinyShapesWorld.CellCentre(position);
        int r2 = 2 * TinyShapesWorld.HalfSize(size);
        return CoversAt(shape, r2, 2 * x + 1 - 2 * cx, 2 * y + 1 - 2 * cy);
    }

    /// <summary>The inside-test in doubled coordinates relative to the shape centre (px, py) with doubled half-size r2.</summary>
    internal static bool CoversAt(ShapeKind shape, int r2, int px, int py) => shape switch
    {
        ShapeKind.Circle => px * px + py * py <= r2 * r2,
        ShapeKind.Square => Math.Abs(px) <= r2 && Math.Abs(py) <= r2,
        _ => py <= r2 && 2 * Math.Abs(px) <= py + r2, // triangle, apex up
    };

    private static void Fill(Span<byte> image, (byte R, byte G, byte B) rgb)
    {
        for (int p = 0; p < image.Length; p += 3)
        {
            image[p] = rgb.R;
            image[p + 1] = rgb.G;
            image[p + 2] = rgb.B;
        }
    }
}
