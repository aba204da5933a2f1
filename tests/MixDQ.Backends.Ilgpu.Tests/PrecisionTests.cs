using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Tests.ComputeBackends;
using Xunit.Abstractions;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>The FP16-weight GEMM and the integer kernel on the CPU accelerator (the portable path of dp4a), and what the backend refuses.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public class PrecisionTests(ITestOutputHelper output)
{
    private static IlgpuBackend Backend => SharedCpuAccelerator.Backend;

    [Theory]
    [InlineData(LayerKind.Linear)]
    [InlineData(LayerKind.Conv2d)]
    public void Fp16_weights_equal_the_reference_on_half_rounded_weights(LayerKind kind)
    {
        var r = new Random(5);
        var x = kind == LayerKind.Linear ? BackendOpCases.Rand(r, 2, 37, 70) : BackendOpCases.Rand(r, 1, 9, 11, 13);
        var w = kind == LayerKind.Linear ? BackendOpCases.Rand(r, 45, 70) : BackendOpCases.Rand(r, 20, 9, 3, 3);
        var bias = BackendOpCases.Rand(r, w.Dim(0));
        var rounded = new Tensor(Array.ConvertAll(w.Data, v => (float)(Half)v), w.ShapeArray());
        var fp16 = new LayerInfo("test", "fp16", kind, w.ShapeArray(), LayerPrecision.Fp16);
        var fp32 = fp16 with { Precision = LayerPrecision.Fp32 };
        var reference = new ReferenceBackend();

        Tensor Run(IComputeBackend be, LayerInfo info, Tensor weight) => kind == LayerKind.Linear
            ? be.Linear(be.PrepareLinear(info, weight, bias), x)
            : be.Conv2d(be.PrepareConv2d(info, weight, bias, 1, 1), x);
        var actual = Run(Backend, fp16, w);
        double error = OpCaseSeed.NormalizedError(Run(reference, fp32, rounded).Data, actual.Data);
        double fromFp32 = OpCaseSeed.NormalizedError(Run(reference, fp32, w).Data, actual.Data);
        output.WriteLine($"{kind} FP16 weights: error vs reference on half-rounded weights {error:G3}, vs FP32 weights {fromFp32:G3}");
        Assert.True(error <= 3e-6, $"error {error:G3}");
        Assert.True(fromFp32 > error, "the FP16 path should differ from FP32 weights by the rounding of the weights");
    }

    public static IEnumerable<object[]> W8A8Shapes() => IntegerOpCases.W8A8Shapes.Select(s => new object[] { s.M, s.K, s.N });

    [Theory]
    [MemberData(nameof(W8A8Shapes))] // K not a multiple of 4, M and N off the 16-tile, K over several K tiles
    public void W8A8_linear_equals_integer_math(int m, int k, int n)
    {
        Assert.True(Backend.Supports(new KernelSpec(LayerKind.Linear, [n, k], [m, k], new LayerPrecision(8, 8))));
        var (run, expected) = IntegerOpCases.W8A8Linear(m, k, n);
        double error = OpCaseSeed.NormalizedError(expected, run(Backend).Data);
        output.WriteLine($"W8A8 M{m} K{k} N{n}: error vs fake-quantized FP64 math {error:G3}");
        Assert.True(error <= 1e-6, $"error {error:G3}");
    }

    [Fact]
    public void Every_integer_precision_is_supported_and_layouts_without_a_kernel_are_refused_with_MIXDQ091()
    {
        foreach (var p in new LayerPrecision[] { new(8, 8), new(4, 8), new(2, 8), new(8, 4), new(4, 4), new(8, 16), new(4, 16), new(2, 16) })
        {
            Assert.True(Backend.Supports(new KernelSpec(LayerKind.Linear, [8, 16], [1, 16], p)), $"{p} linear");
            Assert.True(Backend.Supports(new KernelSpec(LayerKind.Conv2d, [8, 16, 3, 3], [1, 16, 4, 4], p, 1, 1)), $"{p} conv2d");
        }
        Assert.False(Backend.Supports(new KernelSpec(LayerKind.Linear, [8, 16], [1, 16], new LayerPrecision(3, 8))));

        // Three input runs: the kernel folds one or two per call.
        var w = BackendOpCases.Rand(new Random(1), 8, 12);
        var grid = ActivationQuantParams.FromRange(-1, 1, 8);
        var threeRuns = new QuantizedLayer(WeightQuantizer.Quantize(w.Data, 8, 12, 4), [new(4, grid), new(4, grid), new(4, grid)]);
        var info = new LayerInfo("test", "w4a8", LayerKind.Linear, [8, 12], new LayerPrecision(4, 8));
        var e = Assert.Throws<MixDQException>(() => Backend.PrepareQuantizedLinear(info, threeRuns, null));
        Assert.Equal(ErrorCodes.PrecisionNotSupported, e.Code);
        Assert.Contains("3 input quantizer runs", e.Message);
    }
}
