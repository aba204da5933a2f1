using System.Globalization;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.CommandLine;

/// <summary>
/// The <c>compile</c> command, shared by the <c>mixdq-compile</c> tool (which the MSBuild task runs out
/// of process) and <c>mixdq compile</c>. Output protocol, one line each: progress as <c>mixdq: ...</c>
/// on stdout; diagnostics as <c>error|warning MIXDQ0nn: message (file: F, at: X). Fix: hint</c> on stderr.
/// Exit codes: 0 success, 1 bad input, 2 bad usage, 3 internal failure.
/// </summary>
public static class CompileCommandLine
{
    public const int ExitOk = 0;
    public const int ExitBadInput = 1;
    public const int ExitUsage = 2;
    public const int ExitInternal = 3;

    public const string Usage = """
        usage: mixdq-compile [compile] --model DIR --class NAME --out DIR
                             [--weight-bits N] [--activation-bits N] [--steps N] [--calibration-prompts FILE]

        Reads a diffusers folder and writes NAME.mixdq.plan.json and NAME.mixdq.safetensors into DIR.
          --weight-bits        2, 4, 8, 16 or 32 (default 16)
          --activation-bits    4, 8, 16 or 32 (default 16)
          --steps              denoising steps the model is compiled for (default 1)
          --calibration-prompts  text file, one prompt per line
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        if (args.Any(a => a is "--help" or "-h" or "-?"))
        {
            stdout.WriteLine(Usage);
            return ExitOk;
        }
        CompileRequest request;
        try
        {
            request = Parse(args);
        }
        catch (MixDQException e)
        {
            WriteError(stderr, e);
            if (e.Code == ErrorCodes.InvalidArgument) stderr.WriteLine(Usage);
            return e.Code == ErrorCodes.InvalidArgument ? ExitUsage : ExitBadInput;
        }

        try
        {
            var progress = new LineProgress(stdout);
            var result = ModelCompiler.Compile(request, progress: progress, cancellationToken: cancellationToken);
            foreach (var w in result.Warnings)
                stderr.WriteLine(FixHints.WithHint(w.ToDiagnosticLine(), w.Code));
            var t = result.Plan.Totals;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mixdq: compiled {request.ClassName}: {t.LayerCount} layers ({t.ContentLayers} content, {t.QualityLayers} quality), " +
                $"weights {ModelCompiler.FormatBytes(t.WeightBytes)} at plan precision vs {ModelCompiler.FormatBytes(t.Fp32WeightBytes)} FP32, " +
                $"artifact {ModelCompiler.FormatBytes(result.ArtifactBytes)}, {result.Elapsed.TotalSeconds:0.00} s"));
            stdout.WriteLine($"mixdq: plan {result.PlanPath}");
            stdout.WriteLine($"mixdq: artifact {result.ArtifactPath}");
            return ExitOk;
        }
        catch (MixDQException e)
        {
            WriteError(stderr, e);
            return ExitBadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"error {ErrorCodes.CompilerFailed}: compilation was cancelled");
            return ExitInternal;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not bad input: say so in one line with the exception, never a bare stack dump.
            stderr.WriteLine(FixHints.WithHint($"error {ErrorCodes.CompilerFailed}: internal compiler failure: {e.GetType().Name}: {e.Message}", ErrorCodes.CompilerFailed));
            return ExitInternal;
        }
    }

    private static void WriteError(TextWriter stderr, MixDQException e) =>
        stderr.WriteLine(FixHints.WithHint(e.ToDiagnosticLine(), e.Code));

    /// <summary>Parses the options; errors are MIXDQ050 (usage) or MIXDQ063 (a bad value).</summary>
    public static CompileRequest Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] known = ["--model", "--class", "--out", "--weight-bits", "--activation-bits", "--steps", "--calibration-prompts"];
        int i = args.Length > 0 && args[0] == "compile" ? 1 : 0;
        for (; i < args.Length; i++)
        {
            string a = args[i];
            string name = a, value;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = a[..eq];
                value = a[(eq + 1)..];
            }
            else
            {
                if (i + 1 >= args.Length) throw Usage_($"option '{a}' needs a value");
                value = args[++i];
            }
            if (!known.Contains(name)) throw Usage_($"unknown option '{name}'");
            if (!values.TryAdd(name, value)) throw Usage_($"option '{name}' is given twice");
        }
        string Required(string n) => values.TryGetValue(n, out var v) && v.Length > 0 ? v : throw Usage_($"missing {n}");
        int Number(string n, string item, int dflt)
        {
            if (!values.TryGetValue(n, out var v)) return dflt;
            return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int r)
                ? r
                : throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} '{v}' is not a whole number", item: item);
        }
        var settings = new CompileSettings
        {
            WeightBits = Number("--weight-bits", "WeightBits", 16),
            ActivationBits = Number("--activation-bits", "ActivationBits", 16),
            Steps = Number("--steps", "Steps", 1),
            CalibrationPromptsFile = values.TryGetValue("--calibration-prompts", out var p) && p.Length > 0 ? p : null,
        };
        return new CompileRequest(Required("--model"), Required("--class"), Required("--out"), settings);
    }

    private static MixDQException Usage_(string message) => new(ErrorCodes.InvalidArgument, message);

    private sealed class LineProgress(TextWriter stdout) : IProgress<string>
    {
        public void Report(string value)
        {
            stdout.WriteLine("mixdq: " + value);
            stdout.Flush();
        }
    }
}
