using System;
using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MixDQ.Generators
{
    /// <summary>
    /// For every AdditionalFiles item with metadata <c>MixDQPlan=true</c> (added by the MixDQ.Sdk targets),
    /// emits the typed model class described by the plan. Bad plans become MIXDQ060/061/064 diagnostics at
    /// the plan's file position; the generator never throws into the compiler.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class MixDQPlanGenerator : IIncrementalGenerator
    {
        public const string PlanMetadata = "build_metadata.AdditionalFiles.MixDQPlan";
        public const string ClassNameMetadata = "build_metadata.AdditionalFiles.MixDQClassName";
        public const string NamespaceMetadata = "build_metadata.AdditionalFiles.MixDQNamespace";
        public const string RootNamespaceProperty = "build_property.RootNamespace";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var inputs = context.AdditionalTextsProvider
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Select(static (pair, ct) =>
                {
                    var options = pair.Right.GetOptions(pair.Left);
                    if (!options.TryGetValue(PlanMetadata, out var flag) || !string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase))
                        return null;
                    options.TryGetValue(ClassNameMetadata, out var className);
                    string? ns = options.TryGetValue(NamespaceMetadata, out var n) && !string.IsNullOrWhiteSpace(n) ? n
                        : pair.Right.GlobalOptions.TryGetValue(RootNamespaceProperty, out var root) ? root : null;
                    string text = pair.Left.GetText(ct)?.ToString() ?? "";
                    return new PlanInput(pair.Left.Path, text, className, ns);
                })
                .WithTrackingName(TrackingNames.Inputs)
                // A plan item whose file is missing or empty has not been compiled yet (a design-time build): no class, no error.
                .Where(static i => i is not null && i.Text.Trim().Length > 0)
                .Select(static (i, _) => i!);

            var results = inputs
                .Select(static (input, _) =>
                {
                    try
                    {
                        return PlanParser.Parse(input);
                    }
                    catch (Exception e)
                    {
                        // Never let an exception reach the compiler: it would disable the generator silently.
                        var d = new DiagnosticInfo(Diagnostics.InternalId, e.GetType().Name + ": " + e.Message, input.Path, 0, 0, 0, 0, 0, 0);
                        return new PlanResult(null, new EquatableArray<DiagnosticInfo>(new[] { d }));
                    }
                })
                .WithTrackingName(TrackingNames.Models);

            context.RegisterSourceOutput(results, static (spc, result) =>
            {
                foreach (var d in result.Diagnostics)
                {
                    var location = Location.Create(d.FilePath, new TextSpan(d.SpanStart, d.SpanLength),
                        new LinePositionSpan(new LinePosition(d.StartLine, d.StartColumn), new LinePosition(d.EndLine, d.EndColumn)));
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.ById(d.Id), location, d.Message));
                }
                if (result.Model is { } model)
                    spc.AddSource(HintName(model), SourceText.From(SourceEmitter.Emit(model), Encoding.UTF8));
            });
        }

        /// <summary>Unique per plan file, so two items can never collide on the hint name (the compiler reports duplicate types instead).</summary>
        private static string HintName(PlanModel model)
        {
            uint h = 2166136261;
            foreach (char ch in model.PlanFile) h = (h ^ ch) * 16777619;
            return $"{model.ClassName}.MixDQ.{h.ToString("x8", CultureInfo.InvariantCulture)}.g.cs";
        }
    }

    /// <summary>Names of the tracked pipeline steps (tests assert they are Cached after unrelated edits).</summary>
    public static class TrackingNames
    {
        public const string Inputs = "MixDQPlanInputs";
        public const string Models = "MixDQPlanModels";
    }
}
