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

    [Theory]
    [InlineData(typeof(Width8))]
    [InlineData(typeof(Width4))]
    [InlineData(typeof(Width2))]
    public void Integer_gemm_emits_dp4a_guarded_by_IsSupported(Type width)
    {
        var kernel = Kernel(typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.Run)).MakeGenericMethod(width, typeof(Dp4aPath));
        string ptx = Compile(kernel, explicitlyGrouped: true);
        output.WriteLine($"{width.Name}: {CountOf(ptx, "dp4a.u32.u32")} dp4a.u32.u32, {CountOf(ptx, "mma.sync")} mma.sync, {CountOf(ptx, "ld.global.u8")} ld.global.u8");
        Assert.Contains(".target sm_80", ptx);
        // The 4×4 block's 16 dot products and its 4 row sums go through the inline instruction.
        Assert.True(CountOf(ptx, "dp4a.u32.u32") >= 20, "dp4a.u32.u32 missing from the integer kernel's PTX");
        Assert.DoesNotContain("mma.sync", ptx);
        Assert.Contains("bar.sync", ptx);
    }

    [Theory]
    [InlineData(typeof(Width8))]
    [InlineData(typeof(Width4))]
    [InlineData(typeof(Width2))]
    public void Tensor_core_path_emits_mma_sync_m16n8k32(Type width)
    {
        var kernel = Kernel(typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.Run)).MakeGenericMethod(width, typeof(TensorCorePath));
        string ptx = Compile(kernel, explicitlyGrouped: true);
        const string mma = "mma.sync.aligned.m16n8k32.row.col.s32.u8.u8.s32";
        output.WriteLine(string.Join('\n', ptx.Split('\n').Where(l => l.Contains("mma.sync")).Take(2)));
        output.WriteLine($"{width.Name}: {CountOf(ptx, mma)} {mma}, {CountOf(ptx, "dp4a.u32.u32")} dp4a (row sums and the portable branch)");
        // Four m16n8 fragments per warp per k32 step; the dp4a branch stays for a CUDA device without tensor cores.
        Assert.Equal(4, CountOf(ptx, mma));
        Assert.True(CountOf(ptx, "dp4a.u32.u32") >= 20);
    }

    [Fact]
    public void Float_gemm_uses_fma()
    {
        var kernel = Kernel(typeof(ImplicitGemmKernel), nameof(ImplicitGemmKernel.Run)).MakeGenericMethod(typeof(DenseWeights<Fp32Weight>));
        string ptx = Compile(kernel, explicitlyGrouped: true);
        output.WriteLine($"{CountOf(ptx, "fma.rn.f32")} fma.rn.f32, {CountOf(ptx, "mul.f32")} mul.f32");
        Assert.True(CountOf(ptx, "fma.rn.f32") >= 16, "the 4×4 register block's inner step should be 16 fma.rn.f32");
    }

    [Fact]
    public void Activation_codes_divide_with_ieee_rounding()
    {
        // The CPU backend divides x / s exactly (not a reciprocal multiply); an approximate division could move a code at a tie.
        string ptx = Compile(Kernel(typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.QuantizeInput)), explicitlyGrouped: false);
        output.WriteLine(string.Join('\n', ptx.Split('\n').Where(l => l.Contains("div") || l.Contains("cvt.rni"))));
        Assert.Contains("div.rn.f32", ptx);
        Assert.DoesNotContain("div.approx", ptx);
    }

    [Theory]
    [InlineData(typeof(DenseWeights<Fp32Weight>))]
    [InlineData(typeof(DenseWeights<Fp16Weight>))]
    [InlineData(typeof(PackedWeights<Width4>))]
    [InlineData(typeof(PackedWeights<Width2>))]
    public void Implicit_gemm_compiles_with_shared_tiles(Type weight)
    {
        var kernel = Kernel(typeof(ImplicitGemmKernel), nameof(ImplicitGemmKernel.Run)).MakeGenericMethod(weight);
        string ptx = Compile(kernel, explicitlyGrouped: true);
        output.WriteLine($"{weight.Name}: {ptx.Length} chars of PTX, {CountOf(ptx, "fma.rn.f32")} fma.rn.f32, {CountOf(ptx, "ld.shared")} ld.shared");
        Assert.Contains(".shared", ptx);
        Assert.Contains("bar.sync", ptx);
        Assert.True(CountOf(ptx, "ld.shared") >= 8, "the 4x4 register tile should read A and B from shared memory");
        if (weight == typeof(DenseWeights<Fp16Weight>)) Assert.Contains("cvt.f32.f16", ptx); // FP16 weights widened to FP32 for the FP32 accumulation
    }

    public static IEnumerable<object[]> OtherKernels() =>
    [
        [typeof(NormKernel), nameof(NormKernel.Run), true],
        [typeof(AttentionKernel), nameof(AttentionKernel.Run), true],
        [typeof(IntegerGemmKernel), nameof(IntegerGemmKernel.QuantizeInput), false],
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
