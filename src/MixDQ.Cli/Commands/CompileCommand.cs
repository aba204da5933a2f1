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
        var weightBits = new Option<string>("--weight-bits") { Description = "2, 4, 8, 16 or 32 (default 16)" };
        var activationBits = new Option<string>("--activation-bits") { Description = "4, 8, 16 or 32 (default 16)" };
        var steps = new Option<string>("--steps") { Description = "denoising steps the model is compiled for (default 1)" };
        var prompts = new Option<string>("--calibration-prompts") { Description = "text file, one prompt per line" };
        var cmd = new Command("compile", "Compile a diffusers folder into a MixDQ plan and weights artifact.")
        {
            model, className, output, weightBits, activationBits, steps, prompts,
        };
        cmd.SetAction(r =>
        {
            var args = new List<string>
            {
                "--model", r.GetValue(model)!, "--class", r.GetValue(className)!, "--out", r.GetValue(output)!,
            };
            void Pass(string name, Option<string> option)
            {
                if (r.GetValue(option) is { } v) args.AddRange([name, v]);
            }
            Pass("--weight-bits", weightBits);
            Pass("--activation-bits", activationBits);
            Pass("--steps", steps);
            Pass("--calibration-prompts", prompts);
            return CompileCommandLine.Run([.. args], ctx.Out, ctx.Error) switch
            {
                CompileCommandLine.ExitOk => CliApp.ExitOk,
                CompileCommandLine.ExitInternal => CliApp.ExitInternal,
                _ => CliApp.ExitBadInput,
            };
        });
        return cmd;
    }
}
