using ILGPU;
using ILGPU.Runtime;
using MixDQ.Backends.Ilgpu.Kernels;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Backends.Ilgpu;

/// <summary>The loaded integer GEMM for one stored weight width, on the tile path the accelerator supports; ILGPU specializes it per geometry.</summary>
internal sealed class IntegerGemmLauncher
{
    private readonly Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, InputGrids, int,
        SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>,
        SpecializedValue<int>> _launch;

    private IntegerGemmLauncher(Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, InputGrids, int,
        SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>,
        SpecializedValue<int>> launch) => _launch = launch;

    /// <summary><typeparamref name="TPath"/>: <see cref="TensorCorePath"/> only where mma.sync exists (CUDA sm_80+).</summary>
    public static IntegerGemmLauncher Load<TWidth, TPath>(Accelerator accelerator)
        where TWidth : struct, ICodeWidth where TPath : struct, IIntegerTilePath =>
        new(accelerator.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, InputGrids, int,
            SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>,
            SpecializedValue<int>>(IntegerGemmKernel.Run<TWidth, TPath>));

    public void Launch(GemmGeometry g, ArrayView<byte> xCodes, ArrayView<byte> w, ArrayView<int> channelInts, ArrayView<float> channelFloats,
        ArrayView<float> y, InputGrids grids) =>
        _launch(IntegerGemmKernel.Config(g.Rows, g.OutChannels), xCodes, w, channelInts, channelFloats, y, grids, g.Batch,
            SpecializedValue.New(g.InChannels), SpecializedValue.New(g.Height), SpecializedValue.New(g.Width), SpecializedValue.New(g.KernelSize),
            SpecializedValue.New(g.Stride), SpecializedValue.New(g.Padding), SpecializedValue.New(g.OutChannels));
}

/// <summary>What integer layers of either kind share: the BOS row a cross-attention key/value layer writes at token 0.</summary>
internal abstract class DeviceQuantizedWeights(DeviceBuffer<float>? bos) : DeviceGemmWeights
{
    public override DeviceBuffer<float>? Bos => bos;

    /// <summary>
    /// The device form of an integer layer (checked by <see cref="IntegerPrecisions.Check"/> before): integer inputs run
    /// <see cref="IntegerGemmKernel"/>, weight-only layers the FP GEMM reading packed codes (<see cref="PackedWeights{TWidth}"/>).
    /// <paramref name="perChannel"/> is kh·kw (1 for a linear). MIXDQ091 for what no kernel here runs (more than two input runs,
    /// a run too deep for INT32 sums).
    /// </summary>
    public static DeviceQuantizedWeights Upload(IlgpuKernelSet kernels, DeviceMemory memory, LayerInfo layer, QuantizedLayer q, float[]? bias,
        int perChannel, string backend)
    {
        var w = q.Weight;
        string? missing = q.Input.Count > 2 ? $"{q.Input.Count} input quantizer runs (the kernel takes one or two)"
            : q.Input.Any(s => (long)s.Channels * perChannel > IntegerGemmKernel.MaxRunDepth) ? $"an input run deeper than {IntegerGemmKernel.MaxRunDepth} codes (INT32 sums)"
            : null;
        if (missing is not null)
            throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {backend} backend's integer kernel cannot run this layer: {missing}", item: layer.QualifiedName);
        var codes = memory.Upload(w.Packed.ToArray()); // the artifact's packed rows as they are
        var bos = q.BosRow is null ? null : memory.Upload(q.BosRow);
        if (!q.QuantizesInput)
        {
            var biasBuffer = memory.Upload(bias ?? new float[w.Rows]);
            var scales = memory.Upload(w.Scales.ToArray());
            var zeros = memory.Upload(Array.ConvertAll(w.ZeroPoints.ToArray(), z => (int)z));
            return w.Bits switch
            {
                8 => new PackedGemmWeights<Width8>(kernels.GemmPacked8, codes, scales, zeros, biasBuffer, bos),
                4 => new PackedGemmWeights<Width4>(kernels.GemmPacked4, codes, scales, zeros, biasBuffer, bos),
                _ => new PackedGemmWeights<Width2>(kernels.GemmPacked2, codes, scales, zeros, biasBuffer, bos),
            };
        }
        return new DeviceIntegerWeights(kernels, memory, w, q.Input, perChannel, codes, bias, bos);
    }
}

/// <summary>
/// An integer layer with quantized inputs (W8/W4/W2 × A8/A4): the packed codes, [zw; Σw per run] and [sw; bias] per output
/// channel, and the input grids. Each call quantizes the input on the device, then runs <see cref="IntegerGemmKernel"/>.
/// </summary>
internal sealed class DeviceIntegerWeights : DeviceQuantizedWeights
{
    private readonly IlgpuKernelSet _kernels;
    private readonly DeviceMemory _memory;
    private readonly IntegerGemmLauncher _launcher;
    private readonly DeviceBuffer<byte> _codes;
    private readonly DeviceBuffer<int> _channelInts;
    private readonly DeviceBuffer<float> _channelFloats;
    private readonly InputGrids _grids;
    private readonly int _maxCode;

    public DeviceIntegerWeights(IlgpuKernelSet kernels, DeviceMemory memory, QuantizedWeight w, IReadOnlyList<InputQuantSegment> input, int perChannel,
        DeviceBuffer<byte> codes, float[]? bias, DeviceBuffer<float>? bos) : base(bos)
    {
        _kernels = kernels;
        _memory = memory;
        _launcher = kernels.IntegerGemm(w.Bits);
        _codes = codes;
        int n = w.Rows, split = input[0].Channels * perChannel;
        var ints = new int[3 * n];
        var rowCodes = new byte[w.RowLength];
        for (int r = 0; r < n; r++)
        {
            w.RowCodes(r, rowCodes);
            ints[r] = w.ZeroPoints[r];
            for (int k = 0; k < w.RowLength; k++) ints[(k < split ? 1 : 2) * n + r] += rowCodes[k];
        }
        _channelInts = memory.Upload(ints);
        var floats = new float[2 * n];
        w.Scales.CopyTo(floats);
        bias?.CopyTo(floats, n);
        _channelFloats = memory.Upload(floats);
        var last = input[^1].Params;
        _grids = new InputGrids
        {
            Scale0 = input[0].Params.Scale,
            Zero0 = input[0].Params.ZeroPoint,
            Scale1 = last.Scale,
            Zero1 = last.ZeroPoint,
            FirstRunChannels = input[0].Channels,
        };
        _maxCode = IntegerFormat.MaxCode(input[0].Params.Bits);
    }

    public override long Bytes => _codes.Length + (_channelInts.Length + _channelFloats.Length) * 4 + (Bos?.Length ?? 0) * 4;

    public override void Run(GemmGeometry g, ArrayView<float> x, ArrayView<float> y)
    {
        long elements = (long)g.Batch * g.InChannels * g.Height * g.Width;
        using var xCodes = _memory.Allocate<byte>(elements);
        if (elements > 0)
            _kernels.QuantizeInput(new Index1D(checked((int)elements)), x, xCodes.View, g.Height * g.Width, g.InChannels, _grids, _maxCode);
        _launcher.Launch(g, xCodes.View, _codes.View, _channelInts.View, _channelFloats.View, y, _grids);
        _kernels.Synchronize(); // xCodes is freed on return
    }

    public override void Dispose()
    {
        _codes.Dispose();
        _channelInts.Dispose();
        _channelFloats.Dispose();
        Bos?.Dispose();
    }
}

/// <summary>A weight-only integer layer (WxA16): packed codes, scales and zero points read by the FP GEMM (<see cref="PackedWeights{TWidth}"/>).</summary>
internal sealed class PackedGemmWeights<TWidth>(GemmLauncher<PackedWeights<TWidth>> launcher, DeviceBuffer<byte> codes, DeviceBuffer<float> scales,
    DeviceBuffer<int> zeros, DeviceBuffer<float> bias, DeviceBuffer<float>? bos) : DeviceQuantizedWeights(bos) where TWidth : struct, ICodeWidth
{
    public override long Bytes => codes.Length + (scales.Length + zeros.Length + bias.Length + (Bos?.Length ?? 0)) * 4;

    public override void Run(GemmGeometry g, ArrayView<float> x, ArrayView<float> y) =>
        launcher.Launch(g, x, new PackedWeights<TWidth> { Codes = codes.View, Scales = scales.View, Zeros = zeros.View }, bias.View, y);

    public override void Dispose()
    {
        codes.Dispose();
        scales.Dispose();
        zeros.Dispose();
        bias.Dispose();
        Bos?.Dispose();
    }
}
