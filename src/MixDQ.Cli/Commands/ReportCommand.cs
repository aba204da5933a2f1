using System.CommandLine;
using MixDQ.Compiler.Reporting;

namespace MixDQ.Cli.Commands;

/// <summary><c>mixdq report</c>: one self-contained HTML page of what a build decided and what it cost in quality.</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext ctx)
    {
        var plan = new Option<string>("--plan") { Description = "the compiled plan ({ClassName}.mixdq.plan.json)", Required = true };
        var lockFile = new Option<string?>("--lock") { Description = "the analysis lock file: adds every candidate width's score and the protected layers" };
        var model = new Option<string?>("--model") { Description = "the model folder the plan was compiled from: adds FP32 vs quantized images" };
        var prompts = new Option<string?>("--prompts") { Description = "prompts of the image grid (default: <model>/heldout_prompts.txt)" };
        var count = new Option<int>("--images") { Description = "number of prompts in the image grid", DefaultValueFactory = _ => ReportImages.DefaultPromptCount };
        var output = new Option<string>("--out") { Description = "the HTML file to write", DefaultValueFactory = _ => "report.html" };
        var cmd = new Command("report", "Write one HTML page: allocation over the UNet, sensitivities, budget, images, provenance.")
        {
            plan, lockFile, model, prompts, count, output,
        };
        cmd.SetAction((ParseResult r, CancellationToken ct) =>
        {
            if (r.GetValue(count) < 1) throw new Runtime.Diagnostics.MixDQException(Runtime.Diagnostics.ErrorCodes.InvalidArgument, "--images must be at least 1", item: "images");
            var request = new ReportRequest(r.GetValue(plan)!, r.GetValue(output)!)
            {
                LockPath = r.GetValue(lockFile),
                ModelDirectory = r.GetValue(model),
                PromptsPath = r.GetValue(prompts),
                PromptCount = r.GetValue(count),
                Command = "mixdq " + string.Join(' ', r.Tokens.Select(t => Quote(t.Value))),
            };
            ReportGenerator.Run(request, new SyncProgress<string>(ctx.Error.WriteLine), ct);
            ctx.Out.WriteLine($"wrote {request.OutputPath}");
            return Task.FromResult(CliApp.ExitOk);
        });
        return cmd;
    }

    private static string Quote(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:+,@".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
