using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// A matrix stored as panels of <see cref="Width"/> rows, each panel k-major: element (row, k) of the
/// source [rows, cols] sits at <c>panel(row / Width)[k · Width + row % Width]</c>. Rows past
/// <see cref="Rows"/> are zero, so the micro-kernel never reads outside the panel.
/// </summary>
internal sealed unsafe class PackedPanels
{
    /// <summary>Where the panels live: this buffer, or (in place) the mapped artifact tensor <see cref="_mapped"/>.</summary>
    private readonly AlignedBuffer? _buffer;
    private readonly IO.MappedTensor? _mapped;
    private readonly float* _base;

    /// <summary>Floats one task of <see cref="Pack(IStoredWeight, int, int, int, CpuParallel)"/> reads at a time (at least one panel): its scratch stays in L2.</summary>
    private const int StoredChunkFloats = 64 * 1024;

    /// <param name="rows">Rows of the source matrix.</param>
    /// <param name="cols">Columns of the source matrix.</param>
    /// <param name="width">Rows per panel.</param>
    /// <param name="zeroed">False when the caller writes every element of every panel (the padding rows included).</param>
    public PackedPanels(int rows, int cols, int width, bool zeroed = true)
    {
        Rows = rows;
        Cols = cols;
        Width = width;
        PanelCount = (rows + width - 1) / width;
        _buffer = new AlignedBuffer(checked(PanelCount * cols * width), zeroed);
        _base = _buffer.Pointer;
    }

    /// <summary>Panels used where a mapped file stores them (64-byte aligned, exactly this layout); keeps the mapping alive.</summary>
    private PackedPanels(int rows, int cols, int width, IO.MappedTensor mapped)
    {
        Rows = rows;
        Cols = cols;
        Width = width;
        PanelCount = (rows + width - 1) / width;
        _mapped = mapped;
        _base = (float*)mapped.Pointer;
    }

    /// <summary>True when the panels are the mapped file's bytes (no memory of their own).</summary>
    public bool InPlace => _mapped is not null;

    public int Rows { get; }

    public int Cols { get; }

    public int Width { get; }

    public int PanelCount { get; }

    /// <summary>Floats from one panel to the next.</summary>
    public nint PanelStride => (nint)Cols * Width;

    public float* Panel(int index) => _base + index * PanelStride;

    /// <summary>Packs a row-major [rows, cols] matrix.</summary>
    public static PackedPanels Pack(ReadOnlySpan<float> source, int rows, int cols, int width)
    {
        var packed = new PackedPanels(rows, cols, width);
        fixed (float* src = source)
        {
            for (int p = 0; p < packed.PanelCount; p++)
                Packing.PackPanel(src + (nint)p * width * cols, cols, Math.Min(width, rows - p * width), cols, width, packed.Panel(p), width);
        }
        return packed;
    }

    /// <summary>
    /// Packs a row-major [rows, cols] matrix read from where it is stored, in parallel: each task reads a run of whole
    /// panels (contiguous rows) into its thread's scratch, which stays in cache, and packs them from there, so every
    /// element is converted and moved once and no copy of the matrix is made; each task faults in its part of the fresh
    /// panels with one system call (<see cref="MemoryPages"/>). The panels equal those of
    /// <see cref="Pack(ReadOnlySpan{float}, int, int, int)"/> on the matrix read whole, bit for bit.
    /// </summary>
    public static PackedPanels Pack(IStoredWeight source, int rows, int cols, int width, CpuParallel parallel)
    {
        if (source is IStoredWeightPanels stored && stored.PanelWidth == width) return FromStoredPanels(stored, rows, cols, width, parallel);
        // PackPanel writes every element of every panel, padding rows included.
        var packed = new PackedPanels(rows, cols, width, zeroed: false);
        int panelsPerTask = Math.Max(1, StoredChunkFloats / (cols * width));
        int tasks = (packed.PanelCount + panelsPerTask - 1) / panelsPerTask;
        parallel.For(tasks, task =>
        {
            int p0 = task * panelsPerTask, p1 = Math.Min(packed.PanelCount, p0 + panelsPerTask);
            int firstRow = p0 * width, rowCount = Math.Min(rows, p1 * width) - firstRow;
            int count = checked(rowCount * cols);
            MemoryPages.PopulateForWrite(packed.Panel(p0), (long)(p1 - p0) * packed.PanelStride * sizeof(float));
            float* scratch = ThreadScratch.Get(ThreadScratch.AuxSlot, count);
            source.ReadFloat32((long)firstRow * cols, new Span<float>(scratch, count));
            for (int p = p0; p < p1; p++)
                Packing.PackPanel(scratch + (nint)(p - p0) * width * cols, cols, Math.Min(width, rows - p * width), cols, width, packed.Panel(p), width);
        });
        return packed;
    }

    /// <summary>
    /// Panels an artifact already stores in this layout: used in place when the mapped tensor is 64-byte aligned (the
    /// kernels then read the file's page-cache pages; no conversion, no copy, no fresh memory), else copied as they are
    /// with positional reads into an aligned buffer, in parallel runs of whole panels.
    /// </summary>
    private static PackedPanels FromStoredPanels(IStoredWeightPanels stored, int rows, int cols, int width, CpuParallel parallel)
    {
        long floats = (long)((rows + width - 1) / width) * cols * width;
        if (stored.TryMapPanels() is { } mapped)
        {
            if (((nuint)mapped.Pointer & 63) == 0 && mapped.ByteLength == floats * sizeof(float)) return new PackedPanels(rows, cols, width, mapped);
            mapped.Dispose();
        }
        var packed = new PackedPanels(rows, cols, width, zeroed: false);
        int panelsPerTask = Math.Max(1, StoredChunkFloats / (cols * width));
        int tasks = (packed.PanelCount + panelsPerTask - 1) / panelsPerTask;
        parallel.For(tasks, task =>
        {
            int p0 = task * panelsPerTask, p1 = Math.Min(packed.PanelCount, p0 + panelsPerTask);
            long bytes = (long)(p1 - p0) * packed.PanelStride * sizeof(float);
            MemoryPages.PopulateForWrite(packed.Panel(p0), bytes);
            stored.ReadPanels(p0 * packed.PanelStride, new Span<float>(packed.Panel(p0), checked((int)((p1 - p0) * packed.PanelStride))));
        });
        return packed;
    }
}

internal static unsafe class Packing
{
    /// <summary>
    /// dst[k · dstStep + r] = src[r · ld + k] for r &lt; rows, k &lt; cols; rows up to
    /// <paramref name="width"/> are zero-filled. With AVX and a width that is a multiple of 8 (the AVX-512 kernel's
    /// 8-row A panels and 32-wide B panels, the AVX2 kernel's 16-wide B panels), every whole group of 8 rows goes
    /// through in-register 8×8 transposes, 8 columns at a time; the rest element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackPanel(float* src, nint ld, int rows, int cols, int width, float* dst, nint dstStep)
    {
        int groups = 0, k8 = 0;
        if (Avx.IsSupported && width % 8 == 0 && dstStep >= width)
        {
            groups = rows / 8;
            k8 = cols / 8 * 8;
            // k outer: each block of 8 columns fills 8 consecutive destination rows of the panel, written in order.
            for (int k = 0; k < k8; k += 8)
                for (int g = 0; g < groups; g++)
                    Transpose8x8(src + (nint)g * 8 * ld + k, ld, dst + k * dstStep + g * 8, dstStep);
        }
        int groupedRows = groups * 8;
        for (int r = 0; r < rows; r++)
        {
            float* s = src + r * ld;
            float* d = dst + r;
            for (int c = r < groupedRows ? k8 : 0; c < cols; c++) d[c * dstStep] = s[c];
        }
        for (int r = rows; r < width; r++)
        {
            float* d = dst + r;
            for (int c = 0; c < cols; c++) d[c * dstStep] = 0;
        }
    }

    /// <summary>
    /// dst[c · ldd + r] = src[r · lds + c] for an 8×8 block, in registers: the classic AVX
    /// unpack / shuffle / 128-bit permute sequence. Callers check <see cref="Avx.IsSupported"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds);
        var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds);
        var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds);
        var r7 = Avx.LoadVector256(src + 7 * lds);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }
}

/// <summary>
/// The cache-blocked part of GEMM that needs the micro-kernel: walks the Mr×Nr tiles of one
/// block of C. Drivers (linear, convolution, attention) pack their operands and call
/// <see cref="Macro"/>; only this class is specialised per instruction set.
/// </summary>
internal abstract unsafe class GemmEngine
{
    public abstract CpuIsa Isa { get; }

    /// <summary>Rows of C per micro-tile (the A panel width).</summary>
    public abstract int Mr { get; }

    /// <summary>Columns of C per micro-tile (the B panel width).</summary>
    public abstract int Nr { get; }

    /// <summary>
    /// C[m, n] (row stride <paramref name="ldc"/>) = (accumulate ? C : 0) + A·B over <paramref name="kc"/>.
    /// A panel i (rows i·Mr ..) starts at <c>a + i·aPanelStride</c> and advances <paramref name="aStep"/>
    /// per k; it must be readable for Mr rows even where m is not a multiple of Mr. B panel j
    /// (columns j·Nr ..) is packed, starts at <c>b + j·bPanelStride</c>, Nr floats per k. Only the
    /// m×n region of C is written.
    /// </summary>
    public abstract void Macro(int m, int n, int kc, float* a, nint aPanelStride, nint aStep,
        float* b, nint bPanelStride, float* c, nint ldc, bool accumulate);

    public static GemmEngine Create(CpuIsa isa) => isa switch
    {
        CpuIsa.Avx512 => new GemmEngine<Avx512Kernel8x32>(isa),
        CpuIsa.Avx2 => new GemmEngine<Avx2Kernel6x16>(isa),
        _ => new GemmEngine<PortableKernel4x2V>(CpuIsa.Portable),
    };
}

internal sealed unsafe class GemmEngine<TKernel>(CpuIsa isa) : GemmEngine
    where TKernel : struct, IMicroKernel
{
    public override CpuIsa Isa => isa;

    public override int Mr => TKernel.Mr;

    public override int Nr => TKernel.Nr;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Macro(int m, int n, int kc, float* a, nint aPanelStride, nint aStep,
        float* b, nint bPanelStride, float* c, nint ldc, bool accumulate)
    {
        int mr = TKernel.Mr, nr = TKernel.Nr;
        int fullRows = m / mr * mr;
        // B micro-panel outer, A micro-panels inner: the kc×Nr slice of B stays in L1 while the
        // A panels stream from L2.
        for (int j = 0; j < n; j += nr)
        {
            float* bp = b + j / nr * bPanelStride;
            float* cj = c + j;
            int cols = Math.Min(nr, n - j);
            if (cols == nr)
            {
                for (int i = 0; i < fullRows; i += mr)
                    TKernel.Run(kc, a + i / mr * aPanelStride, aStep, bp, cj + i * ldc, ldc, accumulate);
                if (fullRows < m)
                    EdgeTile(m - fullRows, cols, kc, a + fullRows / mr * aPanelStride, aStep, bp, cj + fullRows * ldc, ldc, accumulate);
            }
            else
            {
                for (int i = 0; i < m; i += mr)
                    EdgeTile(Math.Min(mr, m - i), cols, kc, a + i / mr * aPanelStride, aStep, bp, cj + i * ldc, ldc, accumulate);
            }
        }
    }

    /// <summary>A partial tile: run the full kernel on a scratch tile and copy the valid part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile(int rows, int cols, int kc, float* a, nint aStep, float* b, float* c, nint ldc, bool accumulate)
    {
        int nr = TKernel.Nr;
        float* tile = stackalloc float[TKernel.Mr * nr];
        if (accumulate)
        {
            new Span<float>(tile, TKernel.Mr * nr).Clear();
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<float>(c + r * ldc, cols).CopyTo(new Span<float>(tile + r * nr, cols));
        }
        TKernel.Run(kc, a, aStep, b, tile, nr, accumulate);
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(tile + r * nr, cols).CopyTo(new Span<float>(c + r * ldc, cols));
    }
}
