using System.CommandLine;
using MixDQ.Compiler.CommandLine;

namespace MixDQ.Cli.Commands;

/// <summary>
/// <c>mixdq compile</c>: the same command the MSBuild task runs out of process as <c>mixdq-compile</c>
/// (one implementation, <see cref="CompileCommandLine"/>); writes <c>NAME.mixdq.plan.json</c> and
/// <c>NAME.mixdq.safetensors</c>. Values are passed through as text so that both front ends report a bad
/// number the same way (MIXDQ063).
/// </summary>
internal static class CompileCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Option<string>("--model") { Description = "diffusers model folder", Required = true };
        var className = new Option<string>("--class") { Description = "C# class name of the compiled model", Required = true };
        var output = new Option<string>("--out") { Description = "folder for the plan and the artifact", Required = true };
        // Passed through as text to the one parser (CompileCommandLine), so both front ends report bad values alike.
        (string Name, string Description)[] passThrough =
        [
            ("--weight-bits", "target average UNet weight bits within the candidates (e.g. 4, 3.66), or 16/32 (default 16)"),
            ("--activation-bits", "target average activation bits within the candidates (e.g. 8, 7.7), or 16/32 (default 16)"),
            ("--steps", "denoising steps the model is compiled and calibrated for (default 1)"),
            ("--calibration-prompts", "text file, one prompt per line (default: <model>/calibration_prompts.txt)"),
            ("--calibration-count", "calibration prompts used, from the top of the file (default 16)"),
            ("--sensitivity-prompts", "images per sensitivity measurement and per candidate of the MSE pick (default 4)"),
            ("--pick-shortlist", "candidates of the MSE pick generated on every sensitivity prompt, the best of a latent screen on the first (default 8; 0 = all)"),
            ("--weight-candidates", "content-group weight widths, e.g. 2,4,8 (the quality group uses those >= 4)"),
            ("--activation-candidates", "activation widths, e.g. 4,8"),
            ("--protected-share", "share of each group's most sensitive activation layers kept FP16 (default 0.01)"),
            ("--method", "mixdq (default) | naive | sqnr-only | no-bos"),
            ("--weight-scheme", "sym (default) | asym"),
            ("--weight-clipping", "minmax (default) | mse"),
            ("--lock", "the analysis lock file (default: <out>/<class>.mixdq.lock.json)"),
        ];
        var options = passThrough.Select(p => new Option<string>(p.Name) { Description = p.Description }).ToList();
        var quiet = new Option<bool>("--no-progress-bar") { Description = "print progress as lines instead of a bar" };
        var cmd = new Command("compile", "Compile a diffusers folder into a MixDQ plan and weights artifact (integer widths run the MixDQ analysis).")
        {
            model, className, output, quiet,
        };
        foreach (var o in options) cmd.Options.Add(o);
        cmd.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var args = new List<string>
            {
                "--model", r.GetValue(model)!, "--class", r.GetValue(className)!, "--out", r.GetValue(output)!,
            };
            void Pass(string name, Option<string> option)
            {
                if (r.GetValue(option) is { } v) args.AddRange([name, v]);
            }
            foreach (var o in options) Pass(o.Name, o);
            var stdout = r.GetValue(quiet) ? ctx.Out : new ProgressBarWriter(ctx.Out);
            int code = CompileCommandLine.Run([.. args], stdout, ctx.Error, ct);
            stdout.Flush();
            return Task.FromResult(code switch
            {
                CompileCommandLine.ExitOk => CliApp.ExitOk,
                CompileCommandLine.ExitInternal => CliApp.ExitInternal,
                _ => CliApp.ExitBadInput,
            });
        });
        return cmd;
    }
}
