using System.CommandLine;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Cli.Commands;

/// <summary><c>mixdq generate</c>: prompt → PNG.</summary>
internal static class GenerateCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Option<string>("--model") { Description = "diffusers model folder", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "the text prompt", Required = true };
        var seed = new Option<int>("--seed") { Description = "seed of the initial noise", DefaultValueFactory = _ => 0 };
        var steps = new Option<int?>("--steps") { Description = "denoising steps (default 1)" };
        var width = new Option<int?>("--width") { Description = "image width in pixels" };
        var height = new Option<int?>("--height") { Description = "image height in pixels" };
        var decoder = new Option<string>("--decoder") { Description = "vae or taesd", DefaultValueFactory = _ => "vae" };
        decoder.AcceptOnlyFromAmong("vae", "taesd");
        var output = new Option<string>("--out") { Description = "output PNG file", Required = true };
        var latents = new Option<string?>("--latents") { Description = "initial latents: .npy, or .safetensors holding a tensor named 'latents'" };
        var dump = new Option<string?>("--dump") { Description = "folder for intermediate tensors (.npy)" };
        var fp16 = new Option<bool>("--fp16-weights") { Description = "prefer *.fp16.safetensors files" };
        var device = new Option<string>("--device")
        {
            Description = "cpu, cuda (the ILGPU backend on the first NVIDIA GPU) or auto (cuda when a GPU is present, else cpu)",
            DefaultValueFactory = _ => "auto",
        };

        var cmd = new Command("generate", "Generate an image from a prompt.")
        {
            model, prompt, seed, steps, width, height, decoder, output, latents, dump, fp16, device,
        };
        cmd.SetAction((ParseResult r, CancellationToken ct) =>
        {
            string outPath = r.GetValue(output)!;
            CheckOutputWritable(outPath);
            // Resolved before any loading, so an absent GPU (MIXDQ057) or an unknown name (MIXDQ050) costs nothing.
            var target = MixDQDevice.Parse(r.GetValue(device)!);
            Tensor? initial = r.GetValue(latents) is { } lp ? LatentsFile.Read(lp) : null;
            using var pipeline = DiffusionPipeline.Load(r.GetValue(model)!, new PipelineLoadOptions
            {
                PreferFp16Weights = r.GetValue(fp16),
                Backend = target.Backend,
                Warnings = new SyncProgress<MixDQWarning>(w => ctx.Error.WriteLine(w.ToDiagnosticLine())),
            });
            var options = new GenerationOptions
            {
                Seed = r.GetValue(seed),
                Steps = r.GetValue(steps),
                Width = r.GetValue(width),
                Height = r.GetValue(height),
                InitialLatents = initial,
                Decoder = r.GetValue(decoder) == "taesd" ? DecoderKind.Taesd : DecoderKind.Vae,
                DumpDirectory = r.GetValue(dump),
            };
            var display = new ProgressDisplay(ctx.Error);
            var image = pipeline.Generate(r.GetValue(prompt)!, options, display, ct);
            display.Finish();
            image.SavePng(outPath);
            ctx.Out.WriteLine($"wrote {outPath} ({image.Width}x{image.Height}, {image.Info.Steps} step(s), seed {image.Info.Seed}, {pipeline.BackendName} backend)");
            return Task.FromResult(CliApp.ExitOk);
        });
        return cmd;
    }

    /// <summary>Fails before any work when the PNG could not be written, so no time is wasted.</summary>
    private static void CheckOutputWritable(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is null || !Directory.Exists(dir))
            throw new MixDQException(ErrorCodes.OutputNotWritable, "the output folder does not exist", path);
        if (Directory.Exists(path))
            throw new MixDQException(ErrorCodes.OutputNotWritable, "the output path is a folder", path);
    }
}

/// <summary>An IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool and can reorder lines).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
