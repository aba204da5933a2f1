using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends;

/// <summary>
/// The panel layout in which an FP32 artifact stores float layer weights (PLAN-FORMAT.md, "Float weights stored as
/// panels"), so the CPU backend can use the mapped file as its packed weights without converting or moving a byte.
/// A weight of <c>rows</c> output features by <c>cols</c> = in·kh·kw is stored as tensor <c>P.weight.panels</c>, F32
/// <c>[panels, cols, width]</c> with panels = ceil(rows / width): element (r, k) of the row-major weight sits at
/// <c>[r / width, k, r % width]</c>, and the rows past <c>rows</c> in the last panel are zero. Linear layers use
/// <see cref="LinearWidth"/> (the AVX-512 kernel's B panels), convolutions <see cref="ConvWidth"/> (its A panels);
/// a backend with other widths reads the rows back out of the panels (<see cref="ReadRows"/>).
/// </summary>
public static class WeightPanels
{
    /// <summary>Replaces <c>P.weight</c> in the artifact.</summary>
    public const string Suffix = ".weight.panels";

    /// <summary>Output features per panel of a linear layer's weight.</summary>
    public const int LinearWidth = 32;

    /// <summary>Output channels per panel of a convolution's weight.</summary>
    public const int ConvWidth = 8;

    /// <summary>The panel width the artifact uses for a layer of <paramref name="kind"/>.</summary>
    public static int WidthOf(LayerKind kind) => kind == LayerKind.Linear ? LinearWidth : ConvWidth;

    /// <summary>The stored shape <c>[panels, cols, width]</c> of a weight with <paramref name="rows"/> rows of <paramref name="cols"/>.</summary>
    public static int[] StoredShape(int rows, int cols, int width) => [(rows + width - 1) / width, cols, width];

    /// <summary>Packs a row-major [<paramref name="rows"/>, <paramref name="cols"/>] weight into its panels, zero rows included.</summary>
    public static void Pack(ReadOnlySpan<float> rowMajor, int rows, int cols, int width, Span<float> panels)
    {
        int panelCount = (rows + width - 1) / width;
        if (rowMajor.Length != (long)rows * cols) throw new ArgumentException($"expected {rows} x {cols} floats, got {rowMajor.Length}", nameof(rowMajor));
        if (panels.Length != (long)panelCount * cols * width)
            throw new ArgumentException($"{rows} rows of {cols} fill {panelCount} panels of {width}, not {panels.Length} floats", nameof(panels));
        for (int p = 0; p < panelCount; p++)
        {
            var panel = panels.Slice(p * cols * width, cols * width);
            for (int lane = 0; lane < width; lane++)
            {
                int r = p * width + lane;
                for (int k = 0; k < cols; k++) panel[k * width + lane] = r < rows ? rowMajor[r * cols + k] : 0f;
            }
        }
    }

    /// <summary>Elements <paramref name="start"/>.. of the row-major weight, read out of its panels.</summary>
    public static void ReadRows(ReadOnlySpan<float> panels, int cols, int width, long start, Span<float> destination)
    {
        long panelFloats = (long)cols * width;
        for (int i = 0; i < destination.Length; i++)
        {
            long flat = start + i;
            long r = flat / cols, k = flat % cols;
            destination[i] = panels[(int)(r / width * panelFloats + k * width + r % width)];
        }
    }
}
