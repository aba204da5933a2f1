using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Tests.ComputeBackends;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>
/// Integer-layer cases with their exact meaning: the layer's output computed in FP64 from the fake-quantized input and
/// the dequantized weight (shared by the tests and tools/gpu-check, where the dp4a path really runs).
/// </summary>
public static class IntegerOpCases
{
    public static readonly (int M, int K, int N)[] W8A8Shapes = [(1, 64, 16), (37, 45, 70), (5, 300, 33)];

    /// <summary>A W8A8 linear call through a kernel specialized for its spec, and the output it must produce.</summary>
    public static (Func<IComputeBackend, Tensor> Run, float[] Expected) W8A8Linear(int m, int k, int n)
    {
        var r = new Random(m * 1000 + k);
        var x = BackendOpCases.Rand(r, 2f, m, k);
        var w = BackendOpCases.Rand(r, n, k);
        var bias = BackendOpCases.Rand(r, n);
        var qw = WeightQuantizer.Quantize(w.Data, n, k, 8);
        var input = ActivationQuantParams.FromRange(-1.5f, 2f, 8); // clips part of x: the kernel must clamp as the format does
        var layer = new QuantizedLayer(qw, [new InputQuantSegment(k, input)]);
        var info = new LayerInfo("test", "w8a8", LayerKind.Linear, [n, k], new LayerPrecision(8, 8));
        var spec = new KernelSpec(LayerKind.Linear, [n, k], [m, k], info.Precision);

        var expected = new float[m * n];
        var dw = qw.Dequantize();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = bias.Data[j];
                for (int c = 0; c < k; c++) acc += input.Dequantize(input.Quantize(x.Data[i * k + c])) * (double)dw[j * k + c];
                expected[i * n + j] = (float)acc;
            }
        return (be => be.Linear(be.PrepareQuantizedLinear(info, layer, bias), x, be.Specialize(spec)), expected);
    }
}
