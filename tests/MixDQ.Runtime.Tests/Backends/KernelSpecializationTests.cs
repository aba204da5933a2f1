using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>
/// A specialized kernel must compute exactly what the generic op computes (generated code and the model graphs
/// give the same image), and refuse a call that is not the one it was specialized for.
/// </summary>
public class KernelSpecializationTests
{
    public static IEnumerable<object[]> Cases() =>
        BackendOpCases.All.Where(c => c.Op is "Linear" or "Conv2d").Select(c => new object[] { c.Id });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Specialized_equals_generic_bit_for_bit(string genericCase)
    {
        var generic = BackendOpCases.Get(genericCase);
        var specialized = BackendOpCases.Get(generic.Op + "+kernel/" + generic.Name);
        foreach (var backend in BackendOpsTests.Backends)
        {
            // Same seed for both: the inputs are the same draws.
            var a = generic.Setup(new Random(5))(backend.Create());
            var b = specialized.Setup(new Random(5))(backend.Create());
            Assert.True(a.SameShape(b));
            Assert.True(a.Data.AsSpan().SequenceEqual(b.Data), $"{backend.Name} {generic.Id}: specialized differs from generic");
        }
    }

    [Fact]
    public void Kernel_refuses_another_shape_layer_or_precision()
    {
        foreach (IComputeBackend be in new IComputeBackend[] { new CpuBackend(2), new ReferenceBackend() })
        {
            var r = new Random(3);
            var w = BackendOpCases.Rand(r, 8, 5, 3, 3);
            var info = new LayerInfo("unet", "conv_in", LayerKind.Conv2d, w.ShapeArray(), LayerPrecision.Fp16);
            var conv = be.PrepareConv2d(info, w, null, 1, 1);
            var kernel = be.Specialize(new KernelSpec(LayerKind.Conv2d, [8, 5, 3, 3], [1, 5, 6, 6], LayerPrecision.Fp16, 1, 1));
            Assert.Equal([1, 8, 6, 6], be.Conv2d(conv, BackendOpCases.Rand(r, 1, 5, 6, 6), kernel).ShapeArray());

            var e = Assert.Throws<MixDQException>(() => be.Conv2d(conv, BackendOpCases.Rand(r, 1, 5, 7, 6), kernel));
            Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
            Assert.Contains("unet/conv_in", e.Message, StringComparison.Ordinal);
            var fp32 = be.PrepareConv2d(info with { Precision = LayerPrecision.Fp32 }, w, null, 1, 1);
            Assert.Throws<MixDQException>(() => be.Conv2d(fp32, BackendOpCases.Rand(r, 1, 5, 6, 6), kernel));
            var strided = be.PrepareConv2d(info, w, null, 2, 1);
            Assert.Throws<MixDQException>(() => be.Conv2d(strided, BackendOpCases.Rand(r, 1, 5, 6, 6), kernel));
        }
        var cpu = new CpuBackend(1);
        var lw = BackendOpCases.Rand(new Random(1), 4, 6);
        var linear = cpu.PrepareLinear(new LayerInfo("t", "fc", LayerKind.Linear, [4, 6], LayerPrecision.Fp32), lw, null);
        var convKernel = cpu.Specialize(new KernelSpec(LayerKind.Conv2d, [8, 5, 3, 3], [1, 5, 6, 6], LayerPrecision.Fp32, 1, 1));
        Assert.Throws<MixDQException>(() => cpu.Linear(linear, BackendOpCases.Rand(new Random(2), 3, 6), convKernel));
        Assert.Throws<MixDQException>(() => cpu.Specialize(new KernelSpec(LayerKind.Linear, [4, 6], [3, 7], LayerPrecision.Fp32)));
    }
}
