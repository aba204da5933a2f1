using System.Globalization;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;
using TinyShapes;

// usage: TinyShapes "a large red circle at the top left on a white background" out.png [seed] [cpu|cuda|auto]
if (args.Length is < 1 or > 4 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: TinyShapes PROMPT [OUT.png] [SEED] [cpu|cuda|auto]");
    return args.Length == 0 ? 2 : 0;
}
string prompt = args[0];
string output = args.Length > 1 ? args[1] : "out.png";
int seed = args.Length > 2 && int.TryParse(args[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : 7;

var plan = TinyShapesModel.Plan;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{plan.PipelineClass} ({plan.ModelFamily}): {plan.LayerCount} layers, {plan.WeightBytes} weight bytes at plan precision vs {plan.Fp32WeightBytes} in FP32"));

try
{
    // auto (MixDQDevice.Default): CUDA when the app also references MixDQ.Backends.Ilgpu and a GPU is present, else the CPU.
    var device = MixDQDevice.Parse(args.Length > 3 ? args[3] : "auto");
    using var model = TinyShapesModel.Load(device);
    var progress = new Progress<GenerationProgress>(p => Console.WriteLine($"  {p.Stage} {p.Step}/{p.TotalSteps}"));
    var image = model.Generate(prompt, new GenerationOptions { Seed = seed }, progress);
    image.SavePng(output);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"generated forward passes: {string.Join(", ", model.CompiledComponents.Order(StringComparer.Ordinal))} ({model.CompiledForwardCalls} calls; {plan.ProgramOpCount} backend calls generated)"));
    Console.WriteLine($"wrote {output} ({image.Width}x{image.Height}, device {model.Device})");
    return 0;
}
catch (MixDQException e)
{
    Console.Error.WriteLine(e.ToDiagnosticLine());
    return 1;
}
