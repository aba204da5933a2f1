using System.Runtime.CompilerServices;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Where the integer GEMM's depth (K) is split: one run per input quantizer segment (a conv's run covers its channels
/// times kh·kw), each padded to <see cref="IntegerPanels.PairK"/> so that every run starts on a whole step pair. A
/// weight-only or single-quantizer layer has one run over all of K.
/// </summary>
internal sealed class DepthRuns
{
    public DepthRuns(int[] lengths)
    {
        Lengths = lengths;
        Starts = new int[lengths.Length];
        StepStarts = new int[lengths.Length];
        Steps = new int[lengths.Length];
        int start = 0, steps = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            Starts[s] = start;
            StepStarts[s] = steps;
            Steps[s] = GemmBlocking.RoundUp(lengths[s], IntegerPanels.PairK) / IntegerPanels.StepK;
            start += lengths[s];
            steps += Steps[s];
        }
        Depth = start;
        TotalSteps = steps;
    }

    /// <summary>Real depth of each run.</summary>
    public int[] Lengths { get; }

    /// <summary>First k of each run in the layer's K order.</summary>
    public int[] Starts { get; }

    /// <summary>First 4-k step of each run in the padded layout.</summary>
    public int[] StepStarts { get; }

    /// <summary>4-k steps of each run (always even).</summary>
    public int[] Steps { get; }

    public int Count => Lengths.Length;

    public int Depth { get; }

    public int TotalSteps { get; }

    /// <summary>The runs of a layer's input segments; <paramref name="perChannel"/> = kh·kw for a conv, 1 for a linear.</summary>
    public static DepthRuns For(QuantizedLayer layer, int depth, int perChannel) =>
        new(layer.QuantizesInput ? layer.Input.Select(s => s.Channels * perChannel).ToArray() : [depth]);
}

/// <summary>
/// A quantized weight re-laid out once, at load, for the integer micro-kernels, at its stored width (never wider):
/// panels of <see cref="Nr"/> output channels; in a panel, step t holds codes k = 4t..4t+3 of its 16 channels as two
/// 32-code vectors (channels 0–7, then 8–15; byte 4·c + j of a vector is code k = 4t + j of channel c), which is what
/// <c>vpdpbusd</c> / <c>vpmaddubsw</c> multiply against four broadcast activation bytes. 8-bit: 64 bytes a step.
/// 4-bit: 32 bytes a step, the first vector in the low nibbles, the second in the high ones. 2-bit: 32 bytes per
/// pair of steps, bit pairs 0/1/2/3 of byte b holding byte b of (step t vector 0, t vector 1, t+1 vector 0, t+1
/// vector 1). Padding codes are 0 (the activation side is 0 there too, so they add nothing). For <c>vpdpbusd</c>, whose
/// weight operand is signed, 8-bit codes are stored flipped (code ^ 0x80 = the s8 value code − 128), once at load.
/// </summary>
internal sealed unsafe class IntegerPanels
{
    public const int Nr = 16;
    public const int StepK = 4;
    public const int PairK = 8;

    private readonly byte[] _storage;
    private readonly int _offset;

    private IntegerPanels(QuantizedWeight weight, DepthRuns runs, int storedOffset)
    {
        StoredOffset = storedOffset;
        Bits = weight.Bits;
        Rows = weight.Rows;
        Runs = runs;
        PanelCount = GemmBlocking.CeilDiv(Rows, Nr);
        PanelBytes = runs.TotalSteps * StepBytes;
        _storage = GC.AllocateArray<byte>(checked(PanelCount * PanelBytes + 64), pinned: true);
        _offset = (int)((64 - ((nuint)Unsafe.AsPointer(ref _storage[0]) & 63)) & 63);
        Scales = weight.Scales.ToArray();
        ZeroPoints = new int[Rows];
        for (int r = 0; r < Rows; r++) ZeroPoints[r] = weight.ZeroPoints[r];
        CenteredSums = new int[runs.Count][];
        for (int s = 0; s < runs.Count; s++) CenteredSums[s] = new int[Rows];
    }

    public int Bits { get; }

    /// <summary>128 when 8-bit codes are stored as signed bytes (code − 128), else 0.</summary>
    public int StoredOffset { get; }

    public int Rows { get; }

    public DepthRuns Runs { get; }

    public int PanelCount { get; }

    /// <summary>Bytes of one 4-k step of one panel: 64 codes at <see cref="Bits"/> bits.</summary>
    public int StepBytes => 8 * Bits;

    public int PanelBytes { get; }

    /// <summary>Per output channel: s_w.</summary>
    public float[] Scales { get; }

    /// <summary>Per output channel: z_w.</summary>
    public int[] ZeroPoints { get; }

    /// <summary>[run][channel]: Σ_k∈run (code − z_w), the activation zero point's correction term.</summary>
    public int[][] CenteredSums { get; }

    /// <summary>Bytes resident: the panels plus scales, zero points and sums.</summary>
    public long ResidentBytes => _storage.LongLength + 4L * Rows * (2 + Runs.Count);

    public byte* Panel(int index) => (byte*)Unsafe.AsPointer(ref _storage[_offset]) + (nint)index * PanelBytes;

    /// <summary>
    /// Lays <paramref name="weight"/> out in panels, with the depth split into <paramref name="runs"/>; 8-bit codes
    /// stored as code − <paramref name="offset"/> (0 or 128, what the tile kernel reads).
    /// </summary>
    public static IntegerPanels Pack(QuantizedWeight weight, DepthRuns runs, int offset = 0)
    {
        if (offset != 0 && (offset != 128 || weight.Bits != 8)) throw new ArgumentOutOfRangeException(nameof(offset));
        var p = new IntegerPanels(weight, runs, offset);
        var codes = new byte[weight.RowLength];
        for (int n = 0; n < weight.Rows; n++)
        {
            weight.RowCodes(n, codes);
            byte* panel = p.Panel(n / Nr);
            int c = n % Nr, vector = c / 8, lane = c % 8;
            for (int s = 0; s < runs.Count; s++)
            {
                int sum = 0;
                for (int kk = 0; kk < runs.Lengths[s]; kk++)
                {
                    int code = codes[runs.Starts[s] + kk];
                    sum += code - p.ZeroPoints[n];
                    int t = runs.StepStarts[s] + kk / StepK, b = 4 * lane + kk % StepK;
                    switch (p.Bits)
                    {
                        case 8: panel[t * 64 + vector * 32 + b] = (byte)(code ^ offset); break;
                        case 4: panel[t * 32 + b] |= (byte)(code << (4 * vector)); break;
                        default: panel[t / 2 * 32 + b] |= (byte)(code << (2 * (2 * (t % 2) + vector))); break;
                    }
                }
                p.CenteredSums[s][n] = sum;
            }
        }
        return p;
    }

    /// <summary>Code k-in-step <paramref name="j"/> of channel <paramref name="c"/> (0..15) at step <paramref name="t"/> of a panel (the portable kernel's reader).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Code(byte* panel, int bits, int t, int c, int j)
    {
        int vector = c >> 3, b = 4 * (c & 7) + j;
        return bits switch
        {
            8 => panel[t * 64 + vector * 32 + b],
            4 => (panel[t * 32 + b] >> (4 * vector)) & 15,
            _ => (panel[(t >> 1) * 32 + b] >> (2 * (2 * (t & 1) + vector))) & 3,
        };
    }
}
