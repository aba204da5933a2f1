using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MixDQ.Generators.Tests;

/// <summary>Runs the generator with CSharpGeneratorDriver over in-memory additional files and options.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return [
            .. tpa.Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
                .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)),
            MetadataReference.CreateFromFile(typeof(MixDQ.Runtime.Pipelines.DiffusionPipeline).Assembly.Location),
        ];
    });

    public static CSharpCompilation Compilation(params string[] sources) => CSharpCompilation.Create(
        "Consumer",
        sources.Select(s => CSharpSyntaxTree.ParseText(s, ParseOptions)),
        References.Value,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(IEnumerable<AdditionalText> files, Options options) =>
        CSharpGeneratorDriver.Create(
            [new MixDQPlanGenerator().AsSourceGenerator()],
            files,
            ParseOptions,
            options,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public sealed class Text(string path, string content) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(content);
    }

    /// <summary>Per-file metadata (build_metadata.AdditionalFiles.*) and global properties (build_property.*).</summary>
    public sealed class Options(Dictionary<string, Dictionary<string, string>> perFile, Dictionary<string, string> global) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Map(global);

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Map([]);

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) =>
            new Map(perFile.TryGetValue(textFile.Path, out var m) ? m : []);

        private sealed class Map(Dictionary<string, string> values) : AnalyzerConfigOptions
        {
            public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
        }
    }

    public static Options PlanOptions(string path, string? className, string? ns = null, string rootNamespace = "Consumer.App")
    {
        var meta = new Dictionary<string, string> { ["build_metadata.AdditionalFiles.MixDQPlan"] = "true" };
        if (className is not null) meta["build_metadata.AdditionalFiles.MixDQClassName"] = className;
        if (ns is not null) meta["build_metadata.AdditionalFiles.MixDQNamespace"] = ns;
        return new Options(new() { [path] = meta }, new() { ["build_property.RootNamespace"] = rootNamespace });
    }
}
