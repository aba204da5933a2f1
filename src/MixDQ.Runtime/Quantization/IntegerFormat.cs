using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Quantization;

/// <summary>How a weight's per-output-channel grid is placed around zero.</summary>
public enum WeightScheme
{
    /// <summary>Δ = max|w| / (2^(b−1) − 1), integer range [−2^(b−1), 2^(b−1) − 1], zero point 2^(b−1) in stored codes (MixDQ's SDXL-Turbo setting).</summary>
    Symmetric,
    /// <summary>Δ = (max − min) / (2^b − 1) with min ≤ 0 ≤ max, zero point round(−min/Δ), codes [0, 2^b − 1].</summary>
    Asymmetric,
}

/// <summary>How a weight quantizer picks each channel's range.</summary>
public enum WeightClipping
{
    /// <summary>The channel's min and max (the MixDQ reference setting).</summary>
    MinMax,
    /// <summary>The range shrunk by the factor (searched on a fixed grid) that minimises the channel's squared error.</summary>
    MseSearch,
}

/// <summary>
/// The integer widths the product stores and how they pack: every code is unsigned, <c>bits</c> wide, and a value is
/// <c>scale · (code − zeroPoint)</c>. Sub-byte codes pack little-end first (code k of a row in byte k / (8/bits), at
/// bit (k mod (8/bits))·bits), each row padded to a whole byte. The compiler writes this layout, every backend reads it.
/// </summary>
public static class IntegerFormat
{
    /// <summary>True for the widths weights may be stored in (2, 4, 8).</summary>
    public static bool IsWeightWidth(int bits) => bits is 2 or 4 or 8;

    /// <summary>True for the widths activations may be quantized to (4, 8).</summary>
    public static bool IsActivationWidth(int bits) => bits is 4 or 8;

    /// <summary>Largest code of a width: 2^bits − 1.</summary>
    public static int MaxCode(int bits) => (1 << bits) - 1;

    /// <summary>Codes per byte: 4 at 2 bits, 2 at 4 bits, 1 at 8 bits.</summary>
    public static int CodesPerByte(int bits) => 8 / bits;

    /// <summary>Bytes one row of <paramref name="count"/> codes takes (padded to a whole byte).</summary>
    public static int RowBytes(int count, int bits) => (count + CodesPerByte(bits) - 1) / CodesPerByte(bits);

    /// <summary>The stored zero point of a symmetric grid: 2^(bits−1).</summary>
    public static int SymmetricZeroPoint(int bits) => 1 << (bits - 1);

    internal static void CheckWeightWidth(int bits, string? item = null)
    {
        if (!IsWeightWidth(bits))
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"weights are stored in 2, 4 or 8 bits, not {bits}", item: item);
    }

    internal static void CheckActivationWidth(int bits, string? item = null)
    {
        if (!IsActivationWidth(bits))
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"activations are quantized to 4 or 8 bits, not {bits}", item: item);
    }
}
