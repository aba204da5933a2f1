using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using MixDQ.Backends.Ilgpu.Kernels;
using Xunit.Abstractions;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>
/// The CUDA side without a GPU: every kernel of the backend compiled by ILGPU's PTX backend for sm_80 (ISA 8.0), as the
/// CUDA accelerator would JIT it, and the PTX checked for what the design relies on (shared-memory tiles and barriers,
/// FP16 weights widened in registers, the inline dp4a). The CPU accelerator runs kernels as plain .NET code, so these
/// are the tests that catch a kernel ILGPU cannot compile for CUDA.
/// </summary>
public class PtxCompilationTests(ITestOutputHelper output)
{
    private static string Compile(MethodInfo kernel, bool explicitlyGrouped)
    {
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!); // no libNVVM: ILGPU's own PTX generator
        var entry = explicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    private static MethodInfo Kernel(Type type, string name) =>
        type.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static) ?? throw new MissingMethodException(type.Name, name);

    [Fact]
    public void W8A8_kernel_emits_dp4a_guarded_by_IsSupported()
    {
        string ptx = Compile(Kernel(typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.W8A8Linear)), explicitlyGrouped: true);
        output.WriteLine(string.Join('\n', ptx.Split('\n').Where(l => l.Contains("dp4a") || l.Contains(".target") || l.Contains(".version"))));
        Assert.Contains(".target sm_80", ptx);
        // Both dot products of the inner loop (x·w and the Σx row sum) go through the inline instruction.
        Assert.True(CountOf(ptx, "dp4a.u32.u32") >= 2, "dp4a.u32.u32 missing from the W8A8 kernel's PTX");
        Assert.Contains("bar.sync", ptx);
    }

    [Theory]
    [InlineData(typeof(Fp32Weight))]
    [InlineData(typeof(Fp16Weight))]
    public void Implicit_gemm_compiles_with_shared_tiles(Type weight)
    {
        var kernel = Kernel(typeof(ImplicitGemmKernel), nameof(ImplicitGemmKernel.Run)).MakeGenericMethod(weight);
        string ptx = Compile(kernel, explicitlyGrouped: true);
        output.WriteLine($"{weight.Name}: {ptx.Length} chars of PTX, {CountOf(ptx, "fma.rn.f32")} fma.rn.f32, {CountOf(ptx, "ld.shared")} ld.shared");
        Assert.Contains(".shared", ptx);
        Assert.Contains("bar.sync", ptx);
        Assert.True(CountOf(ptx, "ld.shared") >= 8, "the 4x4 register tile should read A and B from shared memory");
        if (weight == typeof(Fp16Weight)) Assert.Contains("cvt.f32.f16", ptx); // FP16 weights widened to FP32 for the FP32 accumulation
    }

    public static IEnumerable<object[]> OtherKernels() =>
    [
        [typeof(NormKernel), nameof(NormKernel.Run), true],
        [typeof(AttentionKernel), nameof(AttentionKernel.Run), true],
        [typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.QuantizeActivations), false],
        .. typeof(ElementwiseKernels).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.DeclaringType == typeof(ElementwiseKernels)).Select(m => new object[] { typeof(ElementwiseKernels), m.Name, false }),
    ];

    [Theory]
    [MemberData(nameof(OtherKernels))]
    public void Kernel_compiles_for_sm80(Type type, string name, bool explicitlyGrouped)
    {
        string ptx = Compile(Kernel(type, name), explicitlyGrouped);
        output.WriteLine($"{type.Name}.{name}: {ptx.Length} chars of PTX");
        Assert.Contains(".entry", ptx);
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
