using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Models;
using MixDQ.Tests;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Tests.ComputeBackends;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.Quantization;

/// <summary>
/// The shipped TinyShapes UNet quantized by hand (the compiler's quantized artifact is not available yet): weights by
/// <see cref="WeightQuantizer"/>, activation ranges calibrated on the golden inputs, BOS rows of attn2.to_k/to_v from
/// token 0 of the text embedding, written in the artifact's tensor layout and loaded through the runtime's integer
/// layer loader. The CPU integer kernels must agree with the reference backend's exact simulation.
/// </summary>
public sealed class QuantizedTinyShapesTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string ModelDir = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");
    private static readonly string GoldenPath = Path.Combine(RepoPaths.Root, "tests", "golden", "tiny-shapes-golden.safetensors");

    private readonly SafetensorsFile _golden = SafetensorsFile.Open(GoldenPath);
    private readonly SafetensorsFile _weights = SafetensorsFile.Open(Path.Combine(ModelDir, "unet", "diffusion_pytorch_model.safetensors"));
    private readonly UNet2DConditionConfig _cfg = UNet2DConditionConfig.Load(Path.Combine(ModelDir, "unet", "config.json"));

    public void Dispose()
    {
        _golden.Dispose();
        _weights.Dispose();
    }

    /// <summary>First and last convs and the timestep MLP stay FP, as MixDQ keeps them.</summary>
    private static bool Protected(LayerInfo l) => l.Name is "conv_in" or "conv_out" || l.Name.StartsWith("time_embedding", StringComparison.Ordinal);

    private static bool BosAware(LayerInfo l) => l.Name.EndsWith("attn2.to_k", StringComparison.Ordinal) || l.Name.EndsWith("attn2.to_v", StringComparison.Ordinal);

    [Theory]
    // W8A8 measured 3.4e-3 (activation codes at a rounding boundary fall differently after FP32 vs double upstream
    // layers), W4A8 6.6e-7; the quantization error itself is 0.13–0.15.
    [InlineData(8, 8, 1e-2)]
    [InlineData(4, 8, 1e-2)]
    public void Integer_unet_matches_the_simulated_quantization(int weightBits, int activationBits, double tolerance)
    {
        var sample = _golden.ReadFloat32("unet_sample_in");
        float timestep = _golden.ReadFloat32("unet_timestep").Data[0];
        var text = _golden.ReadFloat32("text_hidden");
        var precision = new LayerPrecision(weightBits, activationBits);
        Func<LayerInfo, LayerPrecision> plan = l => Protected(l) ? LayerPrecision.Fp32 : precision;

        var ranges = Calibrate(sample, timestep, text);
        var artifact = QuantizedTensors(ranges, text, precision);
        var fp = UNet2DConditionModel.Create(_cfg, _weights, new CpuBackend(2)).Forward(sample, timestep, text);

        var cpu = new CpuBackend(2);
        var integer = UNet2DConditionModel.Create(_cfg, artifact, cpu, plan);
        var yInt = integer.Forward(sample, timestep, text);
        var ySim = UNet2DConditionModel.Create(_cfg, artifact, new ReferenceBackend(), plan).Forward(sample, timestep, text);

        var vsSim = BackendOpsTests.Compare(ySim.Data, yInt.Data);
        var quantError = BackendOpsTests.Compare(fp.Data, ySim.Data);
        long intBytes = 0, packedBytes = 0, quantized = 0;
        foreach (var (name, bound) in integer.Bindings)
        {
            long bytes = CpuBackend.ResidentWeightBytes(bound);
            intBytes += bytes;
            if (artifact.Items.TryGetValue(name + ".weight.packed", out var packed))
            {
                quantized++;
                packedBytes += packed.Length + 4L * packed.Dim(0);
            }
        }
        long fpBytes = UNet2DConditionModel.Create(_cfg, _weights, cpu).Bindings.Values.Sum(CpuBackend.ResidentWeightBytes);
        output.WriteLine($"{precision} ({quantized} integer layers, path {cpu.IntegerInstructionSet}): CPU integer vs simulation {vsSim}");
        output.WriteLine($"simulation vs FP32 (the quantization error itself): {quantError}");
        output.WriteLine($"layer weights resident: {intBytes} B integer plan ({packedBytes} B packed codes + scales in its integer layers) vs {fpBytes} B FP32 (×{(double)intBytes / fpBytes:F3})");
        Assert.True(vsSim.Error <= tolerance, $"{precision}: {vsSim}");
        // The quantization itself changes the output far more than the kernels differ from its simulation.
        Assert.True(quantError.Error > 3 * vsSim.Error, $"{precision}: quantization error {quantError.Error} vs kernel error {vsSim.Error}");
        Assert.True(quantized > 20);
    }

    [Fact]
    public void Bad_integer_artifacts_fail_at_load_naming_the_layer()
    {
        var sample = _golden.ReadFloat32("unet_sample_in");
        var text = _golden.ReadFloat32("text_hidden");
        var ranges = Calibrate(sample, _golden.ReadFloat32("unet_timestep").Data[0], text);
        var w8a8 = new LayerPrecision(8, 8);
        Func<LayerInfo, LayerPrecision> plan = l => Protected(l) ? LayerPrecision.Fp32 : w8a8;
        const string layer = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";

        void Expect(string code, string item, Action<Dictionary<string, Tensor>> corrupt, Func<LayerInfo, LayerPrecision>? p = null)
        {
            var tensors = new Dictionary<string, Tensor>(QuantizedTensors(ranges, text, w8a8).Items);
            corrupt(tensors);
            var e = Assert.Throws<MixDQException>(() => UNet2DConditionModel.Create(_cfg, new DictionaryTensorSource(tensors, "artifact"), new CpuBackend(1), p ?? plan));
            output.WriteLine($"{e.Code} {e.Item}: {e.Message}");
            Assert.Equal(code, e.Code);
            Assert.Contains(item, e.Item ?? e.Message);
        }

        // Packed rows one byte short (a 4-bit artifact for an 8-bit plan, say).
        Expect(ErrorCodes.QuantizedWeightsInvalid, layer, t =>
        {
            var p = t[layer + ".weight.packed"];
            t[layer + ".weight.packed"] = Tensor.Zeros(p.Dim(0), p.Dim(1) - 1);
        });
        // A8 without its input quantizer.
        Expect(ErrorCodes.QuantizedWeightsInvalid, layer, t => t.Remove(layer + ".input_quant"));
        // A zero scale.
        Expect(ErrorCodes.QuantizedWeightsInvalid, layer, t => t[layer + ".weight.scale"] = Tensor.Zeros(t[layer + ".weight.scale"].Dim(0)));
        // Plan and artifact disagree on the layer's form, both ways.
        Expect(ErrorCodes.ArtifactPlanMismatch, layer, _ => { }, l => l.Name == layer ? LayerPrecision.Fp32 : plan(l));
        Expect(ErrorCodes.ArtifactPlanMismatch, "conv_in", _ => { }, l => l.Name is "conv_in" or layer ? w8a8 : plan(l));
    }

    /// <summary>Per-layer input ranges of the FP model on the golden inputs (attn2.to_k/to_v: tokens 1.., the BOS token has its own row).</summary>
    private Dictionary<string, RangeObserver> Calibrate(Tensor sample, float timestep, Tensor text)
    {
        var observing = new ObservingBackend(new CpuBackend(2));
        UNet2DConditionModel.Create(_cfg, _weights, observing).Forward(sample, timestep, text);
        return observing.Ranges;
    }

    /// <summary>The UNet's tensors with every unprotected layer replaced by its integer artifact tensors.</summary>
    private DictionaryTensorSource QuantizedTensors(Dictionary<string, RangeObserver> ranges, Tensor text, LayerPrecision p)
    {
        var tensors = _weights.Tensors.ToDictionary(t => t.Name, t => _weights.ReadFloat32(t.Name));
        foreach (var l in UNet2DConditionModel.DescribeLayers(_cfg).Where(l => !Protected(l)))
        {
            int rows = l.WeightShape[0], depth = (int)(l.ParameterCount / rows), channels = l.WeightShape[1];
            var w = tensors[l.Name + ".weight"];
            tensors.Remove(l.Name + ".weight");
            var q = WeightQuantizer.Quantize(w.Data, rows, depth, p.WeightBits, WeightScheme.Symmetric, WeightClipping.MseSearch);
            tensors[l.Name + ".weight.packed"] = new Tensor(q.Packed.ToArray().Select(b => (float)b).ToArray(), rows, q.RowBytes);
            tensors[l.Name + ".weight.scale"] = new Tensor(q.Scales.ToArray(), rows);
            var a = ranges[l.Name].ToParams(p.ActivationBits);
            tensors[l.Name + ".input_quant"] = new Tensor([channels, a.Scale, a.ZeroPoint], 1, 3);
            if (BosAware(l))
            {
                var bias = tensors.GetValueOrDefault(l.Name + ".bias");
                var bos = new float[rows];
                for (int o = 0; o < rows; o++)
                {
                    double s = bias?.Data[o] ?? 0;
                    for (int k = 0; k < depth; k++) s += (double)w.Data[o * depth + k] * text.Data[k];
                    bos[o] = (float)s;
                }
                tensors[l.Name + ".bos"] = new Tensor(bos, rows);
            }
        }
        return new DictionaryTensorSource(tensors, "hand-quantized tiny-shapes unet");
    }

    /// <summary>Records the input range of every linear/conv call by layer name.</summary>
    private sealed class ObservingBackend(IComputeBackend inner) : FloatOnlyBackend(inner)
    {
        private readonly Dictionary<object, LayerInfo> _layers = new(ReferenceEqualityComparer.Instance);

        public Dictionary<string, RangeObserver> Ranges { get; } = [];

        public override IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias)
        {
            var p = base.PrepareLinear(layer, weight, bias);
            _layers[p] = layer;
            return p;
        }

        public override IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding)
        {
            var p = base.PrepareConv2d(layer, weight, bias, stride, padding);
            _layers[p] = layer;
            return p;
        }

        public override Tensor Linear(IPreparedLinear layer, Tensor x)
        {
            var info = _layers[layer];
            int c = x.Dim(-1), tokens = x.Rank >= 2 ? x.Dim(-2) : 1;
            var observer = Observer(info.Name);
            for (int row = 0; row < x.Length / c; row++)
                if (!BosAware(info) || row % tokens != 0) observer.Observe(x.Data.AsSpan(row * c, c));
            return base.Linear(layer, x);
        }

        public override Tensor Conv2d(IPreparedConv2d layer, Tensor x)
        {
            Observer(_layers[layer].Name).Observe(x.Data);
            return base.Conv2d(layer, x);
        }

        private RangeObserver Observer(string name)
        {
            if (!Ranges.TryGetValue(name, out var o)) Ranges[name] = o = new RangeObserver();
            return o;
        }
    }
}
