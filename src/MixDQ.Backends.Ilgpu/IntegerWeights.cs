using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using MixDQ.Backends.Ilgpu.Kernels;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Backends.Ilgpu;

/// <summary>
/// A W8A8 linear layer on the device: the stored 8-bit codes repacked four per int (rows zero-padded to a multiple of 4),
/// per-channel scales, zero points and code sums, and the layer's one input quantizer. Each call quantizes the input on
/// the device and runs <see cref="IntegerGemmKernel.W8A8Linear"/>.
/// </summary>
internal sealed class DeviceW8A8Weights : DeviceGemmWeights
{
    private readonly IlgpuKernelSet _kernels;
    private readonly DeviceMemory _memory;
    private readonly DeviceBuffer<int> _codes, _zeros, _sums;
    private readonly DeviceBuffer<float> _scales, _bias;
    private readonly ActivationQuantParams _input;

    private DeviceW8A8Weights(IlgpuKernelSet kernels, DeviceMemory memory, QuantizedWeight w, ActivationQuantParams input, float[]? bias)
    {
        _kernels = kernels;
        _memory = memory;
        _input = input;
        int k4 = (w.RowLength + 3) / 4;
        var padded = new byte[(long)w.Rows * k4 * 4];
        for (int r = 0; r < w.Rows; r++) w.RowCodes(r, padded.AsSpan(r * k4 * 4, w.RowLength));
        _codes = memory.Upload(MemoryMarshal.Cast<byte, int>(padded).ToArray()); // little-endian: code k at bits 8·(k mod 4)
        _zeros = memory.Upload(Array.ConvertAll(w.ZeroPoints.ToArray(), z => (int)z));
        var centered = w.CenteredRowSums();
        _sums = memory.Upload(Enumerable.Range(0, w.Rows).Select(r => centered[r] + w.RowLength * w.ZeroPoints[r]).ToArray()); // Σ codes
        _scales = memory.Upload(w.Scales.ToArray());
        _bias = memory.Upload(bias ?? new float[w.Rows]);
    }

    /// <summary>Checks that <paramref name="weights"/> is a layer this kernel runs (8-bit weights, one 8-bit input grid, no BOS row).</summary>
    public static DeviceW8A8Weights Upload(IlgpuKernelSet kernels, DeviceMemory memory, LayerInfo layer, QuantizedLayer weights, float[]? bias, string backend)
    {
        string? missing = weights.Weight.Bits != 8 ? $"{weights.Weight.Bits}-bit weights"
            : !weights.QuantizesInput ? "weight-only (FP input)"
            : weights.Input.Count != 1 ? $"{weights.Input.Count} input quantizer segments"
            : weights.Input[0].Params.Bits != 8 ? $"{weights.Input[0].Params.Bits}-bit activations"
            : weights.BosRow is not null ? "a BOS row"
            : null;
        if (missing is not null)
            throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {backend} backend's integer linear kernel is W8A8 with one input grid; this layer has {missing}", item: layer.QualifiedName);
        weights.CheckInputChannels(weights.Weight.RowLength, layer.QualifiedName);
        return new DeviceW8A8Weights(kernels, memory, weights.Weight, weights.Input[0].Params, bias);
    }

    public override long Bytes => (_codes.Length + _zeros.Length + _sums.Length) * sizeof(int) + (_scales.Length + _bias.Length) * sizeof(float);

    public override void Run(GemmGeometry g, ArrayView<float> x, ArrayView<float> y)
    {
        int k = g.InChannels, k4 = (k + 3) / 4;
        using var packed = _memory.Allocate<int>((long)g.Rows * k4);
        _kernels.QuantizeActivations(new Index1D(g.Rows * k4), x, packed.View, k, _input.Scale, _input.ZeroPoint);
        Launch(_kernels, g, packed.View, _codes.View, _scales.View, _zeros.View, _sums.View, _bias.View, y, _input.Scale, _input.ZeroPoint);
    }

    public static void Launch(IlgpuKernelSet kernels, GemmGeometry g, ArrayView<int> x, ArrayView<int> w, ArrayView<float> scales, ArrayView<int> zeros,
        ArrayView<int> sums, ArrayView<float> bias, ArrayView<float> y, float xScale, int xZero) =>
        kernels.W8A8Linear(IntegerGemmKernel.Config(g.Rows, g.OutChannels), x, w, scales, zeros, sums, bias, y, g.Rows,
            SpecializedValue.New(g.OutChannels), SpecializedValue.New(g.InChannels), xScale, xZero);

    public override void Dispose()
    {
        _codes.Dispose();
        _zeros.Dispose();
        _sums.Dispose();
        _scales.Dispose();
        _bias.Dispose();
    }
}
