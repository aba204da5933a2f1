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
        usage: mixdq-compile [compile] --model DIR --class NAME --out DIR [options]

        Reads a diffusers folder and writes NAME.mixdq.plan.json and NAME.mixdq.safetensors into DIR; integer
        widths run the MixDQ analysis, cached in NAME.mixdq.lock.json.
          --weight-bits N            target average UNet weight bits: within the candidates (e.g. 4, 3.66), or 16/32 (default 16)
          --activation-bits N        target average activation bits: within the candidates (e.g. 8, 7.7), or 16/32 (default 16)
          --steps N                  denoising steps the model is compiled and calibrated for (default 1)
          --calibration-prompts FILE one prompt per line (default: the model folder's calibration_prompts.txt)
          --calibration-count N      calibration prompts used, from the top of the file (default 16)
          --sensitivity-prompts N    images per sensitivity measurement and per candidate of the MSE pick (default 4)
          --pick-shortlist N         candidates of the MSE pick generated on every sensitivity prompt, the best of a
                                     latent screen on the first (default 8; 0 = every candidate's images)
          --weight-candidates LIST   content-group weight widths (default 2,4,8; the quality group uses those >= 4)
          --activation-candidates L  activation widths (default 4,8)
          --protected-share X        share of each group's most sensitive activations kept FP16 (default 0.01)
          --method M                 mixdq (default) | naive | sqnr-only | no-bos
          --weight-scheme S          sym (default) | asym
          --weight-clipping C        minmax (default) | mse
          --lock FILE                the analysis lock file (default: DIR/NAME.mixdq.lock.json)
          --report true|false        also write DIR/NAME.mixdq.report.html, the page of `mixdq report` without images (default false)
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
            if (request.WriteReport) stdout.WriteLine($"mixdq: report {WriteReport(request, result)}");
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

    /// <summary>The report of the plan just written, beside it; the lock file is read when the analysis left one.</summary>
    private static string WriteReport(CompileRequest request, CompileResult result)
    {
        string lockPath = request.Settings.LockFile ?? Path.Combine(request.OutputDirectory, request.ClassName + Analysis.AnalysisLock.FileSuffix);
        string? lockFile = File.Exists(lockPath) ? lockPath : null;
        string output = Path.Combine(request.OutputDirectory, request.ClassName + ".mixdq.report.html");
        string command = $"mixdq report --plan {Path.GetFileName(result.PlanPath)}" + (lockFile is null ? "" : $" --lock {Path.GetFileName(lockFile)}")
            + $" --out {Path.GetFileName(output)}";
        Reporting.ReportGenerator.Run(new Reporting.ReportRequest(result.PlanPath, output) { LockPath = lockFile, Command = command });
        return output;
    }

    private static void WriteError(TextWriter stderr, MixDQException e) =>
        stderr.WriteLine(FixHints.WithHint(e.ToDiagnosticLine(), e.Code));

    /// <summary>Parses the options; errors are MIXDQ050 (usage) or MIXDQ063 (a bad value).</summary>
    public static CompileRequest Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] known = ["--model", "--class", "--out", "--weight-bits", "--activation-bits", "--steps", "--calibration-prompts",
            "--calibration-count", "--sensitivity-prompts", "--pick-shortlist", "--weight-candidates", "--activation-candidates", "--protected-share", "--method",
            "--weight-scheme", "--weight-clipping", "--lock", "--report"];
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
        double Decimal(string n, string item, double dflt)
        {
            if (!values.TryGetValue(n, out var v)) return dflt;
            return double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double r) && double.IsFinite(r)
                ? r
                : throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} '{v}' is not a number (use a '.' decimal point)", item: item);
        }
        IReadOnlyList<int>? Widths(string n, string item)
        {
            if (!values.TryGetValue(n, out var v)) return null;
            var parts = v.Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var list = new List<int>();
            foreach (var part in parts)
                list.Add(int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int b)
                    ? b
                    : throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} '{v}' must be a comma-separated list of widths", item: item));
            return list;
        }
        T Choice<T>(string n, string item, T dflt, params (string Name, T Value)[] choices)
        {
            if (!values.TryGetValue(n, out var v)) return dflt;
            foreach (var (name, value) in choices)
                if (string.Equals(v, name, StringComparison.OrdinalIgnoreCase)) return value;
            throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} '{v}' is not one of {string.Join(", ", choices.Select(c => c.Name))}", item: item);
        }
        var defaults = new CompileSettings();
        var settings = new CompileSettings
        {
            WeightBits = Decimal("--weight-bits", "WeightBits", 16),
            ActivationBits = Decimal("--activation-bits", "ActivationBits", 16),
            Steps = Number("--steps", "Steps", 1),
            CalibrationPromptsFile = values.TryGetValue("--calibration-prompts", out var p) && p.Length > 0 ? p : null,
            CalibrationPromptCount = Number("--calibration-count", "CalibrationPromptCount", defaults.CalibrationPromptCount),
            SensitivityPromptCount = Number("--sensitivity-prompts", "SensitivityPrompts", defaults.SensitivityPromptCount),
            PickShortlist = Number("--pick-shortlist", "PickShortlist", defaults.PickShortlist),
            WeightCandidates = Widths("--weight-candidates", "WeightCandidates") ?? defaults.WeightCandidates,
            ActivationCandidates = Widths("--activation-candidates", "ActivationCandidates") ?? defaults.ActivationCandidates,
            ProtectedShare = Decimal("--protected-share", "ProtectedShare", defaults.ProtectedShare),
            Method = Choice("--method", "Method", QuantizationMethod.MixDQ,
                ("mixdq", QuantizationMethod.MixDQ), ("naive", QuantizationMethod.Naive), ("sqnr-only", QuantizationMethod.SqnrOnly), ("no-bos", QuantizationMethod.NoBos)),
            WeightScheme = Choice("--weight-scheme", "WeightScheme", Runtime.Quantization.WeightScheme.Symmetric,
                ("sym", Runtime.Quantization.WeightScheme.Symmetric), ("asym", Runtime.Quantization.WeightScheme.Asymmetric)),
            WeightClipping = Choice("--weight-clipping", "WeightClipping", Runtime.Quantization.WeightClipping.MinMax,
                ("minmax", Runtime.Quantization.WeightClipping.MinMax), ("mse", Runtime.Quantization.WeightClipping.MseSearch)),
            LockFile = values.TryGetValue("--lock", out var lockFile) && lockFile.Length > 0 ? lockFile : null,
        };
        return new CompileRequest(Required("--model"), Required("--class"), Required("--out"), settings)
        {
            WriteReport = Choice("--report", "MixDQReport", false, ("true", true), ("false", false)),
        };
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
