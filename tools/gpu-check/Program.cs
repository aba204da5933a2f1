using System.Diagnostics;
using System.Globalization;
using MixDQ.Backends.Ilgpu;
using MixDQ.Backends.Ilgpu.Tests;
using MixDQ.GpuCheck;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Tests.ComputeBackends;

// gpu-check: the ILGPU backend on one accelerator against the CPU backend, as one table (see README.md beside this file).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = CheckOptions.Parse(args);
var table = new ResultTable(options.OutputDirectory);
var total = Stopwatch.StartNew();

// Each section reports its own failure as a FAIL row, so one broken section never costs the rest of the table.
void Section(string name, Action run)
{
    try
    {
        run();
    }
    catch (Exception e) when (e is not OutOfMemoryException)
    {
        table.Add(name, "FAIL", $"{e.GetType().Name}: {e.Message}".Replace('|', '/').ReplaceLineEndings(" "));
    }
}

Section("device", () =>
{
    using var probe = IlgpuBackend.Create(options.Accelerator);
    table.Add("device", probe.DeviceName, $"{probe.Name}, kernel set loaded in {probe.CompileTime.TotalSeconds:F2} s");
    if (options.Sections.Contains("ops")) Section("ops", () => OpHarness.Run(probe, table));
    if (options.Sections.Contains("tinyshapes")) Section("TinyShapes image vs cpu", () => TinyShapesCheck.Run(probe, options.ModelDirectory, table));
});
if (options.Sections.Contains("unet"))
    foreach (var precision in options.Precisions)
        Section($"unet {options.Unet} {precision}", () => UnetTiming.Run(options, precision, table));

table.Add("wall time", $"{total.Elapsed.TotalSeconds:F0} s", $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
table.Print();
return table.Failed ? 1 : 0;

namespace MixDQ.GpuCheck
{
    internal sealed record CheckOptions(IlgpuAcceleratorKind Accelerator, string Unet, int Iterations, string ModelDirectory, string OutputDirectory,
        HashSet<string> Sections, LayerPrecision[] Precisions)
    {
        public static CheckOptions Parse(string[] args)
        {
            string Value(string name, string fallback)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            var accelerator = Value("--accelerator", "cuda") switch
            {
                "cuda" => IlgpuAcceleratorKind.Cuda,
                "cpu" => IlgpuAcceleratorKind.Cpu,
                var other => throw new ArgumentException($"--accelerator {other}: cuda or cpu"),
            };
            return new CheckOptions(accelerator, Value("--unet", "sd-turbo"), int.Parse(Value("--iterations", "20"), CultureInfo.InvariantCulture),
                Value("--model", Path.Combine("samples", "models", "tiny-shapes")), Value("--out", "gpu-check-out"),
                [.. Value("--sections", "ops,tinyshapes,unet").Split(',')],
                [.. Value("--precisions", "fp16,w8a8,w4a8").Split(',').Select(ParsePrecision)]);
        }

        /// <summary>fp32, fp16, or wXaY (an integer precision of the plan format, e.g. w8a8, w4a8, w4a16).</summary>
        private static LayerPrecision ParsePrecision(string text)
        {
            if (text == "fp32") return LayerPrecision.Fp32;
            if (text == "fp16") return LayerPrecision.Fp16;
            var parts = text.TrimStart('w').Split('a');
            if (text.StartsWith('w') && parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int wb) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int ab)
                && IntegerPrecisions.IsKnown(new LayerPrecision(wb, ab)))
                return new LayerPrecision(wb, ab);
            throw new ArgumentException($"--precisions {text}: fp32, fp16 or wXaY (w8a8, w4a8, w2a8, w8a4, w4a16, ...)");
        }
    }

    /// <summary>
    /// The rows of the one table the check prints; each row is also appended to table.md at once, so a run killed by its
    /// time budget still leaves the rows it finished.
    /// </summary>
    internal sealed class ResultTable
    {
        private readonly List<string> _lines = ["| check | result | detail |", "|---|---|---|"];
        private readonly string _path;

        public ResultTable(string outputDirectory)
        {
            Directory.CreateDirectory(outputDirectory);
            _path = Path.Combine(outputDirectory, "table.md");
            File.WriteAllLines(_path, _lines);
        }

        public bool Failed { get; private set; }

        public void Add(string check, string result, string detail = "")
        {
            if (result.StartsWith("FAIL", StringComparison.Ordinal)) Failed = true;
            string line = $"| {check} | {result} | {detail} |";
            _lines.Add(line);
            File.AppendAllLines(_path, [line]);
            Console.Error.WriteLine($"[gpu-check] {check}: {result} {detail}");
        }

        public void Print()
        {
            foreach (string line in _lines) Console.WriteLine(line);
        }
    }

    /// <summary>
    /// Every case of the runtime's op table on the ILGPU backend and the CPU backend, pass/fail per op; integer cases (the
    /// precision axis) get one row per op and precision, named by the tile path that ran them, and on a GPU with tensor
    /// cores the integer cases run a second time on the dp4a path.
    /// </summary>
    internal static class OpHarness
    {
        public static void Run(IlgpuBackend backend, ResultTable table)
        {
            var cpu = new CpuBackend();
            foreach (var op in BackendOpCases.All.GroupBy(Key))
                Row(table, backend, cpu, op.Key, op.ToList());
            if (backend.UsesTensorCores)
            {
                using var dp4a = IlgpuBackend.Create(backend.Kind, allowTensorCores: false);
                foreach (var op in BackendOpCases.All.Where(c => c.SpecOf is not null).GroupBy(Key))
                    Row(table, dp4a, cpu, op.Key, op.ToList());
            }
            RunW8A8(backend, table);
        }

        /// <summary>The op, and for integer cases its precision (case names start with it, e.g. "W4A8 M1 K1 N1").</summary>
        private static string Key(BackendOpCase c) => c.SpecOf is null ? c.Op : $"{c.Op} {c.Name.Split(' ')[0]}";

        /// <summary>The integer tile path of <paramref name="backend"/>: mma.sync tensor cores, dp4a, or the CPU accelerator's portable code.</summary>
        private static string Path(IlgpuBackend backend) =>
            backend.UsesTensorCores ? "mma.sync" : backend.Kind == IlgpuAcceleratorKind.Cuda ? "dp4a" : "portable";

        private static void Row(ResultTable table, IlgpuBackend backend, CpuBackend cpu, string key, List<BackendOpCase> cases)
        {
            double worst = 0;
            var failures = new List<string>();
            foreach (var c in cases)
            {
                try
                {
                    var expected = c.Setup(Seed(c))(cpu);
                    var actual = c.Setup(Seed(c))(backend);
                    double error = expected.SameShape(actual) ? Error(expected.Data, actual.Data) : double.PositiveInfinity;
                    worst = Math.Max(worst, error);
                    if (!(error <= Math.Max(c.Tolerance, 1e-6))) failures.Add($"{c.Name} ({error:G3})");
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failures.Add($"{c.Name} ({e.GetType().Name}: {e.Message})");
                }
            }
            bool integer = cases[0].SpecOf is not null;
            table.Add($"op {key}" + (integer ? $" ({Path(backend)})" : ""), failures.Count == 0 ? "pass" : "FAIL",
                $"{cases.Count} cases, max normalised error vs cpu {worst:G3}" + (failures.Count > 0 ? "; failed: " + string.Join("; ", failures) : ""));
        }

        /// <summary>The W8A8 linear kernel against the FP64 meaning of the layer (not the CPU backend's integer kernels).</summary>
        private static void RunW8A8(IlgpuBackend backend, ResultTable table)
        {
            double worst = 0;
            var failures = new List<string>();
            foreach (var (m, k, n) in IntegerOpCases.W8A8Shapes)
            {
                try
                {
                    var (run, expected) = IntegerOpCases.W8A8Linear(m, k, n);
                    double error = Error(expected, run(backend).Data);
                    worst = Math.Max(worst, error);
                    if (!(error <= 1e-6)) failures.Add($"M{m} K{k} N{n} ({error:G3})");
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failures.Add($"M{m} K{k} N{n} ({e.GetType().Name}: {e.Message})");
                }
            }
            table.Add($"op Linear W8A8 vs FP64 math ({Path(backend)})", failures.Count == 0 ? "pass" : "FAIL",
                $"{IntegerOpCases.W8A8Shapes.Length} cases vs fake-quantized FP64 math, max normalised error {worst:G3}" + (failures.Count > 0 ? "; failed: " + string.Join("; ", failures) : ""));
        }

        private static Random Seed(BackendOpCase c)
        {
            int seed = 17;
            foreach (char ch in c.Id) seed = unchecked(seed * 31 + ch);
            return new Random(seed);
        }

        public static double Error(float[] expected, float[] actual)
        {
            double maxAbs = 0, scale = 1;
            for (int i = 0; i < expected.Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(expected[i]));
                double diff = Math.Abs((double)expected[i] - actual[i]);
                maxAbs = Math.Max(maxAbs, double.IsFinite(diff) ? diff : double.PositiveInfinity);
            }
            return maxAbs / scale;
        }
    }

    /// <summary>The TinyShapes sample end to end (2 steps, VAE decode) on the ILGPU backend and the CPU backend.</summary>
    internal static class TinyShapesCheck
    {
        private const string Prompt = "a small red circle at the top left on a blue background";

        public static void Run(IlgpuBackend backend, string modelDirectory, ResultTable table)
        {
            var generation = new GenerationOptions { Seed = 7, Steps = 2 };
            using var onCpu = DiffusionPipeline.Load(modelDirectory);
            var expected = onCpu.Generate(Prompt, generation);
            using var onDevice = DiffusionPipeline.Load(modelDirectory, new PipelineLoadOptions { Backend = backend });
            var clock = Stopwatch.StartNew();
            var actual = onDevice.Generate(Prompt, generation);
            int maxDiff = 0;
            double sq = 0;
            for (int i = 0; i < expected.Rgb.Length; i++)
            {
                int d = Math.Abs(expected.Rgb[i] - actual.Rgb[i]);
                maxDiff = Math.Max(maxDiff, d);
                sq += d * d;
            }
            double psnr = sq == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / (sq / expected.Rgb.Length));
            // Two FP32 pipelines that differ only in summation order: a few 8-bit levels at most.
            table.Add("TinyShapes image vs cpu", psnr >= 40 ? "pass" : "FAIL",
                $"{actual.Width}x{actual.Height}, max |Δ| {maxDiff}/255, PSNR {psnr:F1} dB, {clock.Elapsed.TotalSeconds:F2} s on device");
        }
    }

    /// <summary>One UNet step of a random-weight UNet at a given config and precision: latency, weight and peak device memory, JIT.</summary>
    internal static class UnetTiming
    {
        public static void Run(CheckOptions options, LayerPrecision precision, ResultTable table)
        {
            var (configJson, latent, contextLength) = UnetConfigs.Get(options.Unet);
            Directory.CreateDirectory(options.OutputDirectory);
            string configPath = Path.Combine(options.OutputDirectory, $"unet-{options.Unet}.json");
            File.WriteAllText(configPath, configJson.ToJsonString());
            var config = UNet2DConditionConfig.Parse(configJson.ToJsonString(), configPath);
            var rng = new Random(1);
            var weights = UNet2DConditionModel.ExpectedTensors(config).ToDictionary(t => t.Name, t => RandomWeight(t, rng));
            if (!precision.IsFloat) QuantizeLayers(weights, precision);

            using var backend = IlgpuBackend.Create(options.Accelerator);
            long before = backend.LiveDeviceBytes;
            var clock = Stopwatch.StartNew();
            var unet = UNet2DConditionModel.Create(config, new DictionaryTensorSource(weights), backend, _ => precision);
            double loadSeconds = clock.Elapsed.TotalSeconds;
            long weightBytes = backend.LiveDeviceBytes - before;
            weights.Clear();

            var sample = BackendOpCases.Rand(rng, 1, config.InChannels, latent, latent);
            var context = BackendOpCases.Rand(rng, 1, contextLength, config.CrossAttentionDim[0]);
            backend.ResetPeakMemory();
            clock.Restart();
            var first = unet.Forward(sample, 999, context);
            double firstSeconds = clock.Elapsed.TotalSeconds;
            if (first.Data.Any(v => !float.IsFinite(v)))
            {
                table.Add($"unet {options.Unet} {precision}", "FAIL", "non-finite output");
                return;
            }
            var times = new List<double>();
            for (int i = 0; i < options.Iterations; i++)
            {
                clock.Restart();
                unet.Forward(sample, 999, context);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            double median = times.Count == 0 ? double.NaN : times[times.Count / 2];
            table.Add($"unet {options.Unet} {precision} latency", $"{median:F1} ms",
                $"median of {times.Count} steps (latents {latent}x{latent}, batch 1; includes per-op host<->device copies, item 0); first step (JIT + run) {firstSeconds:F2} s");
            table.Add($"unet {options.Unet} {precision} memory", $"{weightBytes / 1048576.0:F0} MiB weights",
                $"peak device memory of a step {backend.PeakDeviceBytes / 1048576.0:F0} MiB (backend allocations); weights uploaded in {loadSeconds:F1} s");
        }

        /// <summary>
        /// Every linear and conv weight replaced by its artifact form at <paramref name="precision"/> (PLAN-FORMAT.md "Integer
        /// layers": symmetric per-channel codes, and for integer activations one input grid over [−4, 4]), as a compiled
        /// all-integer plan would store it, so the UNet loads through the same quantized-layer path as an application.
        /// </summary>
        private static void QuantizeLayers(Dictionary<string, Tensor> weights, LayerPrecision precision)
        {
            var grid = IntegerPrecisions.IsWeightOnly(precision) ? (ActivationQuantParams?)null : ActivationQuantParams.FromRange(-4f, 4f, precision.ActivationBits);
            foreach (string name in weights.Keys.Where(n => n.EndsWith(".weight", StringComparison.Ordinal) && weights[n].Rank is 2 or 4).ToList())
            {
                var w = weights[name];
                string path = name[..^".weight".Length];
                int rows = w.Dim(0), depth = w.Length / rows;
                var q = WeightQuantizer.Quantize(w.Data, rows, depth, precision.WeightBits);
                weights.Remove(name);
                weights[path + ".weight.packed"] = new Tensor(Array.ConvertAll(q.Packed.ToArray(), b => (float)b), rows, q.RowBytes);
                weights[path + ".weight.scale"] = new Tensor(q.Scales.ToArray(), rows);
                if (grid is { } g) weights[path + ".input_quant"] = new Tensor([w.Dim(1), g.Scale, g.ZeroPoint], 1, 3);
            }
        }

        /// <summary>Uniform noise of standard deviation 1/√fan_in (norm weights 1): finite activations through a deep random UNet.</summary>
        private static Tensor RandomWeight(TensorInfo info, Random rng)
        {
            var t = Tensor.Zeros(info.Shape);
            bool normWeight = info.Shape.Length == 1 && info.Name.Contains("norm", StringComparison.Ordinal) && info.Name.EndsWith(".weight", StringComparison.Ordinal);
            int fanIn = info.Shape.Length >= 2 ? (int)(info.ElementCount / info.Shape[0]) : 1;
            float scale = (float)(Math.Sqrt(3.0 / fanIn) * (info.Shape.Length >= 2 ? 1 : 0.05));
            var data = t.Data;
            for (int i = 0; i < data.Length; i++) data[i] = (normWeight ? 1f : 0f) + scale * (2 * rng.NextSingle() - 1);
            return t;
        }
    }
}
