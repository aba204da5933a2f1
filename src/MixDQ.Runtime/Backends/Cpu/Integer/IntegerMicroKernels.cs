using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// One 4×16 tile of the integer GEMM over a run of step pairs: acc[r·16 + c] = Σ_k a[r, k] · (w[c, k] − Offset), exact
/// in INT32. <c>a</c> is an activation panel (step t: 16 bytes, four per row), <c>b</c> a weight panel of
/// <see cref="IntegerPanels"/>. Offset is what the kernel subtracts from every weight code to feed a signed operand.
/// </summary>
internal unsafe interface IIntegerTile
{
    static abstract int Offset { get; }

    static abstract void Run(byte* a, byte* b, int pairs, int* acc);

    /// <summary>Two activation panels (<paramref name="a"/> and <paramref name="a"/> + <paramref name="aStride"/>) at once: an 8×16 tile into acc[0..128).</summary>
    static abstract void Run8(byte* a, nint aStride, byte* b, int pairs, int* acc);
}

/// <summary>Unpacks one step pair of a weight panel into four 32-code vectors (unsigned codes).</summary>
internal unsafe interface IPairDecoder
{
    static abstract int PairBytes { get; }

    static abstract void Decode(byte* b, out Vector256<byte> s0v0, out Vector256<byte> s0v1, out Vector256<byte> s1v0, out Vector256<byte> s1v1);
}

internal unsafe struct Decode8 : IPairDecoder
{
    public static int PairBytes => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* b, out Vector256<byte> s0v0, out Vector256<byte> s0v1, out Vector256<byte> s1v0, out Vector256<byte> s1v1)
    {
        s0v0 = Avx.LoadVector256(b);
        s0v1 = Avx.LoadVector256(b + 32);
        s1v0 = Avx.LoadVector256(b + 64);
        s1v1 = Avx.LoadVector256(b + 96);
    }
}

internal unsafe struct Decode4 : IPairDecoder
{
    public static int PairBytes => 64;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* b, out Vector256<byte> s0v0, out Vector256<byte> s0v1, out Vector256<byte> s1v0, out Vector256<byte> s1v1)
    {
        var mask = Vector256.Create((byte)15);
        var p0 = Avx.LoadVector256(b);
        var p1 = Avx.LoadVector256(b + 32);
        s0v0 = p0 & mask;
        s0v1 = Avx2.ShiftRightLogical(p0.AsUInt16(), 4).AsByte() & mask;
        s1v0 = p1 & mask;
        s1v1 = Avx2.ShiftRightLogical(p1.AsUInt16(), 4).AsByte() & mask;
    }
}

internal unsafe struct Decode2 : IPairDecoder
{
    public static int PairBytes => 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(byte* b, out Vector256<byte> s0v0, out Vector256<byte> s0v1, out Vector256<byte> s1v0, out Vector256<byte> s1v1)
    {
        var mask = Vector256.Create((byte)3);
        var p = Avx.LoadVector256(b);
        s0v0 = p & mask;
        s0v1 = Avx2.ShiftRightLogical(p.AsUInt16(), 2).AsByte() & mask;
        s1v0 = Avx2.ShiftRightLogical(p.AsUInt16(), 4).AsByte() & mask;
        s1v1 = Avx2.ShiftRightLogical(p.AsUInt16(), 6).AsByte() & mask;
    }
}

/// <summary>How a SIMD path multiplies one step pair: four broadcast activation bytes per row against two weight vectors per step.</summary>
internal interface IPairDot
{
    static abstract int Offset { get; }

    static abstract Vector256<int> Pair(Vector256<int> acc, Vector256<byte> a0, Vector256<byte> w0, Vector256<byte> a1, Vector256<byte> w1);
}

/// <summary>vpdpbusd on codes below 128 (4- and 2-bit weights): the code is already a valid s8.</summary>
internal struct VnniSmall : IPairDot
{
    public static int Offset => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Pair(Vector256<int> acc, Vector256<byte> a0, Vector256<byte> w0, Vector256<byte> a1, Vector256<byte> w1) =>
        AvxVnni.MultiplyWideningAndAdd(AvxVnni.MultiplyWideningAndAdd(acc, a0, w0.AsSByte()), a1, w1.AsSByte());
}

/// <summary>vpdpbusd on 8-bit codes stored flipped at load (code ^ 0x80, the s8 value code − 128).</summary>
internal struct Vnni8 : IPairDot
{
    public static int Offset => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Pair(Vector256<int> acc, Vector256<byte> a0, Vector256<byte> w0, Vector256<byte> a1, Vector256<byte> w1) =>
        AvxVnni.MultiplyWideningAndAdd(AvxVnni.MultiplyWideningAndAdd(acc, a0, w0.AsSByte()), a1, w1.AsSByte());
}

/// <summary>
/// vpmaddubsw on codes ≤ 15: each 16-bit lane is a0·w0 + a1·w1 ≤ 2·255·15 = 7650, two steps summed ≤ 15300 &lt; 32767,
/// so nothing saturates; vpmaddwd by ones widens to s32.
/// </summary>
internal struct MaddSmall : IPairDot
{
    public static int Offset => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Pair(Vector256<int> acc, Vector256<byte> a0, Vector256<byte> w0, Vector256<byte> a1, Vector256<byte> w1)
    {
        var sum = Avx2.Add(Avx2.MultiplyAddAdjacent(a0, w0.AsSByte()), Avx2.MultiplyAddAdjacent(a1, w1.AsSByte()));
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(sum, Vector256.Create((short)1)));
    }
}

/// <summary>
/// vpmaddubsw on 8-bit codes, split in registers into 4-bit halves (code = 16·hi + lo) so each half has the
/// <see cref="MaddSmall"/> bound; vpmaddwd by 16 and by 1 recombines them exactly in s32.
/// </summary>
internal struct Madd8 : IPairDot
{
    public static int Offset => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Pair(Vector256<int> acc, Vector256<byte> a0, Vector256<byte> w0, Vector256<byte> a1, Vector256<byte> w1)
    {
        var mask = Vector256.Create((byte)15);
        var lo = Avx2.Add(Avx2.MultiplyAddAdjacent(a0, (w0 & mask).AsSByte()), Avx2.MultiplyAddAdjacent(a1, (w1 & mask).AsSByte()));
        var hi0 = Avx2.ShiftRightLogical(w0.AsUInt16(), 4).AsByte() & mask;
        var hi1 = Avx2.ShiftRightLogical(w1.AsUInt16(), 4).AsByte() & mask;
        var hi = Avx2.Add(Avx2.MultiplyAddAdjacent(a0, hi0.AsSByte()), Avx2.MultiplyAddAdjacent(a1, hi1.AsSByte()));
        return Avx2.Add(Avx2.Add(acc, Avx2.MultiplyAddAdjacent(lo, Vector256.Create((short)1))),
            Avx2.MultiplyAddAdjacent(hi, Vector256.Create((short)16)));
    }
}

/// <summary>The SIMD 4×16 tile: 8 s32 accumulators, one weight step pair decoded per iteration.</summary>
internal unsafe struct SimdTile<TDecode, TDot> : IIntegerTile
    where TDecode : struct, IPairDecoder
    where TDot : struct, IPairDot
{
    public static int Offset => TDot.Offset;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(byte* a, byte* b, int pairs, int* acc)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < pairs; p++)
        {
            TDecode.Decode(b, out var s0v0, out var s0v1, out var s1v0, out var s1v1);
            var x0 = Vector256.Create(*(int*)a).AsByte();
            var y0 = Vector256.Create(*(int*)(a + 16)).AsByte();
            c00 = TDot.Pair(c00, x0, s0v0, y0, s1v0);
            c01 = TDot.Pair(c01, x0, s0v1, y0, s1v1);
            var x1 = Vector256.Create(*(int*)(a + 4)).AsByte();
            var y1 = Vector256.Create(*(int*)(a + 20)).AsByte();
            c10 = TDot.Pair(c10, x1, s0v0, y1, s1v0);
            c11 = TDot.Pair(c11, x1, s0v1, y1, s1v1);
            var x2 = Vector256.Create(*(int*)(a + 8)).AsByte();
            var y2 = Vector256.Create(*(int*)(a + 24)).AsByte();
            c20 = TDot.Pair(c20, x2, s0v0, y2, s1v0);
            c21 = TDot.Pair(c21, x2, s0v1, y2, s1v1);
            var x3 = Vector256.Create(*(int*)(a + 12)).AsByte();
            var y3 = Vector256.Create(*(int*)(a + 28)).AsByte();
            c30 = TDot.Pair(c30, x3, s0v0, y3, s1v0);
            c31 = TDot.Pair(c31, x3, s0v1, y3, s1v1);
            a += 32;
            b += TDecode.PairBytes;
        }
        // Lane order inside a vector is channel order (lane l = channel l of that vector's 8).
        Avx.Store(acc, c00);
        Avx.Store(acc + 8, c01);
        Avx.Store(acc + 16, c10);
        Avx.Store(acc + 24, c11);
        Avx.Store(acc + 32, c20);
        Avx.Store(acc + 40, c21);
        Avx.Store(acc + 48, c30);
        Avx.Store(acc + 56, c31);
    }

    /// <summary>
    /// The 8×16 tile: 16 accumulators, so each weight vector feeds 8 rows and no accumulator waits on the previous
    /// step's <c>vpdpbusd</c> latency. It needs the 32 vector registers of AVX-512 machines (16 accumulators, 4
    /// weight vectors, broadcasts); with 16 registers it would spill, so there it runs as two 4×16 tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run8(byte* a, nint aStride, byte* b, int pairs, int* acc)
    {
        if (!Avx512F.VL.IsSupported)
        {
            Run(a, b, pairs, acc);
            Run(a + aStride, b, pairs, acc + 64);
            return;
        }
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<int> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        byte* e = a + aStride;
        for (int p = 0; p < pairs; p++)
        {
            TDecode.Decode(b, out var s0v0, out var s0v1, out var s1v0, out var s1v1);
            var x = Vector256.Create(*(int*)a).AsByte();
            var y = Vector256.Create(*(int*)(a + 16)).AsByte();
            c00 = TDot.Pair(c00, x, s0v0, y, s1v0);
            c01 = TDot.Pair(c01, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(a + 4)).AsByte();
            y = Vector256.Create(*(int*)(a + 20)).AsByte();
            c10 = TDot.Pair(c10, x, s0v0, y, s1v0);
            c11 = TDot.Pair(c11, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(a + 8)).AsByte();
            y = Vector256.Create(*(int*)(a + 24)).AsByte();
            c20 = TDot.Pair(c20, x, s0v0, y, s1v0);
            c21 = TDot.Pair(c21, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(a + 12)).AsByte();
            y = Vector256.Create(*(int*)(a + 28)).AsByte();
            c30 = TDot.Pair(c30, x, s0v0, y, s1v0);
            c31 = TDot.Pair(c31, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)e).AsByte();
            y = Vector256.Create(*(int*)(e + 16)).AsByte();
            c40 = TDot.Pair(c40, x, s0v0, y, s1v0);
            c41 = TDot.Pair(c41, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(e + 4)).AsByte();
            y = Vector256.Create(*(int*)(e + 20)).AsByte();
            c50 = TDot.Pair(c50, x, s0v0, y, s1v0);
            c51 = TDot.Pair(c51, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(e + 8)).AsByte();
            y = Vector256.Create(*(int*)(e + 24)).AsByte();
            c60 = TDot.Pair(c60, x, s0v0, y, s1v0);
            c61 = TDot.Pair(c61, x, s0v1, y, s1v1);
            x = Vector256.Create(*(int*)(e + 12)).AsByte();
            y = Vector256.Create(*(int*)(e + 28)).AsByte();
            c70 = TDot.Pair(c70, x, s0v0, y, s1v0);
            c71 = TDot.Pair(c71, x, s0v1, y, s1v1);
            a += 32;
            e += 32;
            b += TDecode.PairBytes;
        }
        Avx.Store(acc, c00);
        Avx.Store(acc + 8, c01);
        Avx.Store(acc + 16, c10);
        Avx.Store(acc + 24, c11);
        Avx.Store(acc + 32, c20);
        Avx.Store(acc + 40, c21);
        Avx.Store(acc + 48, c30);
        Avx.Store(acc + 56, c31);
        Avx.Store(acc + 64, c40);
        Avx.Store(acc + 72, c41);
        Avx.Store(acc + 80, c50);
        Avx.Store(acc + 88, c51);
        Avx.Store(acc + 96, c60);
        Avx.Store(acc + 104, c61);
        Avx.Store(acc + 112, c70);
        Avx.Store(acc + 120, c71);
    }
}

/// <summary>The portable tile: the same layout read code by code (<see cref="IntegerPanels.Code"/>).</summary>
internal unsafe struct PortableTile<TDecode> : IIntegerTile
    where TDecode : struct, IPairDecoder
{
    public static int Offset => 0;

    private static int Bits => TDecode.PairBytes / 16;

    public static void Run(byte* a, byte* b, int pairs, int* acc)
    {
        int bits = Bits;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 16; c++)
            {
                int sum = 0;
                for (int t = 0; t < 2 * pairs; t++)
                {
                    byte* ar = a + t * 16 + r * 4;
                    for (int j = 0; j < 4; j++) sum += ar[j] * IntegerPanels.Code(b, bits, t, c, j);
                }
                acc[r * 16 + c] = sum;
            }
    }

    public static void Run8(byte* a, nint aStride, byte* b, int pairs, int* acc)
    {
        Run(a, b, pairs, acc);
        Run(a + aStride, b, pairs, acc + 64);
    }
}

/// <summary>The tile function of one (ISA, weight width), chosen once at load.</summary>
internal sealed unsafe class IntegerTileKernel
{
    private readonly delegate*<byte*, byte*, int, int*, void> _run;
    private readonly delegate*<byte*, nint, byte*, int, int*, void> _run8;

    private IntegerTileKernel(IntegerIsa isa, int bits, int offset, delegate*<byte*, byte*, int, int*, void> run,
        delegate*<byte*, nint, byte*, int, int*, void> run8)
    {
        Isa = isa;
        Bits = bits;
        Offset = offset;
        _run = run;
        _run8 = run8;
    }

    public IntegerIsa Isa { get; }

    public int Bits { get; }

    /// <summary>What the tile subtracts from each weight code (the epilogue adds it back); panels for it are packed with this offset.</summary>
    public int Offset { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Run(byte* a, byte* b, int pairs, int* acc) => _run(a, b, pairs, acc);

    /// <summary>Two activation panels, <paramref name="aStride"/> bytes apart, into acc[0..128) (see <see cref="IIntegerTile.Run8"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Run8(byte* a, nint aStride, byte* b, int pairs, int* acc) => _run8(a, aStride, b, pairs, acc);

    public static IntegerTileKernel For(IntegerIsa isa, int bits) => (isa, bits) switch
    {
        (IntegerIsa.AvxVnni, 8) => Make<SimdTile<Decode8, Vnni8>>(isa, bits),
        (IntegerIsa.AvxVnni, 4) => Make<SimdTile<Decode4, VnniSmall>>(isa, bits),
        (IntegerIsa.AvxVnni, 2) => Make<SimdTile<Decode2, VnniSmall>>(isa, bits),
        (IntegerIsa.Avx2, 8) => Make<SimdTile<Decode8, Madd8>>(isa, bits),
        (IntegerIsa.Avx2, 4) => Make<SimdTile<Decode4, MaddSmall>>(isa, bits),
        (IntegerIsa.Avx2, 2) => Make<SimdTile<Decode2, MaddSmall>>(isa, bits),
        (_, 8) => Make<PortableTile<Decode8>>(IntegerIsa.Portable, bits),
        (_, 4) => Make<PortableTile<Decode4>>(IntegerIsa.Portable, bits),
        _ => Make<PortableTile<Decode2>>(IntegerIsa.Portable, bits),
    };

    private static IntegerTileKernel Make<T>(IntegerIsa isa, int bits) where T : struct, IIntegerTile =>
        new(isa, bits, T.Offset, &T.Run, &T.Run8);
}
