using System.Runtime.Intrinsics.X86;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>The instruction set of the integer (u8 × s8 → s32) micro-kernels.</summary>
public enum IntegerIsa
{
    /// <summary>Scalar C#: runs anywhere .NET runs.</summary>
    Portable,

    /// <summary>256-bit AVX2 <c>vpmaddubsw</c> + <c>vpmaddwd</c>; weights enter as 4-bit halves so no 16-bit sum can saturate.</summary>
    Avx2,

    /// <summary>256-bit AVX-VNNI <c>vpdpbusd</c>: four u8 × s8 products summed into s32 lanes without saturation.</summary>
    AvxVnni,
}

/// <summary>Picks the integer kernel path: the best the processor runs, or the one <see cref="EnvironmentVariable"/> forces.</summary>
public static class IntegerIsaDetector
{
    /// <summary><c>portable</c>, <c>avx2</c> or <c>avxvnni</c>: forces that path for every CPU backend made without an explicit one (benchmarks, bug hunts).</summary>
    public const string EnvironmentVariable = "MIXDQ_CPU_INT_ISA";

    /// <summary>The widest path this process can run.</summary>
    public static IntegerIsa Best
    {
        get
        {
            if (IsSupported(IntegerIsa.AvxVnni)) return IntegerIsa.AvxVnni;
            if (IsSupported(IntegerIsa.Avx2)) return IntegerIsa.Avx2;
            return IntegerIsa.Portable;
        }
    }

    /// <summary>Every path this processor runs, portable first.</summary>
    public static IReadOnlyList<IntegerIsa> Available => Enum.GetValues<IntegerIsa>().Where(IsSupported).ToArray();

    public static bool IsSupported(IntegerIsa isa) => isa switch
    {
        IntegerIsa.Portable => true,
        IntegerIsa.Avx2 => Avx2.IsSupported,
        IntegerIsa.AvxVnni => AvxVnni.IsSupported && Avx2.IsSupported,
        _ => false,
    };

    /// <summary><see cref="EnvironmentVariable"/> when set (it must name a path this processor runs), else <see cref="Best"/>.</summary>
    public static IntegerIsa Default
    {
        get
        {
            string? forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrWhiteSpace(forced)) return Best;
            if (!Enum.TryParse<IntegerIsa>(forced.Trim(), ignoreCase: true, out var isa) || !Enum.IsDefined(isa))
                throw new MixDQException(ErrorCodes.InvalidArgument, $"{EnvironmentVariable}={forced} is not one of portable, avx2, avxvnni", item: EnvironmentVariable);
            if (!IsSupported(isa))
                throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"{EnvironmentVariable}={forced}: this processor does not run the {isa} path", item: EnvironmentVariable);
            return isa;
        }
    }

    /// <summary>A short name for reports, e.g. <c>AVX-VNNI vpdpbusd 8x16</c> (8-row tiles need the 32 registers of AVX-512 machines).</summary>
    public static string Describe(IntegerIsa isa) => isa switch
    {
        IntegerIsa.AvxVnni => $"AVX-VNNI vpdpbusd {SimdTileShape}",
        IntegerIsa.Avx2 => $"AVX2 vpmaddubsw {SimdTileShape}",
        _ => "portable scalar 4x16",
    };

    private static string SimdTileShape => Avx512F.VL.IsSupported ? "8x16" : "4x16";
}
