using System.Text.RegularExpressions;
using MixDQ.Tests;

namespace MixDQ.EndToEnd.Tests;

/// <summary>A fresh console project in a temp folder that references MixDQ.Sdk from the test feed.</summary>
internal sealed partial class ConsumerProject : IDisposable
{
    public const string DefaultProgram = """
        using MixDQ.Runtime.Pipelines;
        using Consumer;

        Console.WriteLine($"layers={TinyModel.Plan.LayerCount} weightBytes={TinyModel.Plan.WeightBytes} hash={TinyModel.PlanHash}");
        using var model = TinyModel.Load();
        var image = model.Generate(args[0], new GenerationOptions { Seed = 7 });
        image.SavePng(args[1]);
        Console.WriteLine($"wrote {args[1]} {image.Width}x{image.Height}");
        // The same artifact through the runtime's model graphs: the generated forward passes must give the same bytes.
        using var graph = MixDQ.Runtime.Compiled.CompiledModelLoader.LoadPipeline(
            Path.Combine(AppContext.BaseDirectory, TinyModel.ArtifactFileName), TinyModel.PlanHash, TinyModel.PrecisionOf, MixDQ.Runtime.Backends.MixDQDevice.Cpu);
        var reference = graph.Generate(args[0], new GenerationOptions { Seed = 7, Steps = TinyModel.Plan.Steps });
        Console.WriteLine($"generated={string.Join(",", model.CompiledComponents.Order(StringComparer.Ordinal))} calls={model.CompiledForwardCalls} graphCalls={graph.CompiledForwardCalls} identical={image.Rgb.AsSpan().SequenceEqual(reference.Rgb)}");
        """;

    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    internal ConsumerProject(PackedFeedFixture feed, string itemsXml, string programCs)
    {
        Directory = _tmp.Path;
        ProjectFile = _tmp.File("Consumer.csproj");
        System.IO.File.WriteAllText(_tmp.File("NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="mixdq-test-feed" value="{feed.Feed}" />
              </packageSources>
            </configuration>
            """);
        System.IO.File.WriteAllText(ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <RootNamespace>Consumer</RootNamespace>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MixDQ.Sdk" Version="{feed.Version}" />
              </ItemGroup>
              <ItemGroup>
            {itemsXml}
              </ItemGroup>
            </Project>
            """);
        System.IO.File.WriteAllText(_tmp.File("Program.cs"), programCs);
    }

    public string Directory { get; }

    public string ProjectFile { get; }

    public string File(string relative) => _tmp.File(relative);

    /// <summary>The 1-based line of the first line of the project file containing <paramref name="text"/>.</summary>
    public int LineOf(string text) =>
        System.IO.File.ReadAllLines(ProjectFile).Select((l, i) => (l, i)).First(x => x.l.Contains(text, StringComparison.Ordinal)).i + 1;

    public DotnetCli.Result Dotnet(params string[] args) => DotnetCli.Run(Directory, TimeSpan.FromMinutes(5), [.. args, "-nodeReuse:false"]);

    public DotnetCli.Result Build(params string[] extra) => Dotnet(["build", "-c", "Release", .. extra]);

    /// <summary>Runs the built app.</summary>
    public DotnetCli.Result RunApp(params string[] args) =>
        DotnetCli.Run(Directory, TimeSpan.FromMinutes(3), null,
            ["exec", File("bin/Release/net10.0/Consumer.dll"), .. args]);

    /// <summary>Distinct MSBuild errors in an output: file, line, code, message.</summary>
    public static IReadOnlyList<(string File, int Line, string Code, string Message)> Errors(string output) =>
        ErrorLine().Matches(output)
            .Select(m => (m.Groups["file"].Value, int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["code"].Value, m.Groups["msg"].Value.Trim()))
            .Distinct()
            .ToList();

    [GeneratedRegex(@"^\s*(?<file>[^\r\n]*?)\((?<line>\d+),\d+\): error (?<code>[A-Z]+\d+): (?<msg>[^\r\n]*?)(?: \[[^\]\r\n]*\])?\r?$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    public void Dispose() => _tmp.Dispose();
}
