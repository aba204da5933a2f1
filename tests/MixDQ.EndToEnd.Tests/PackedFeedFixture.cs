using MixDQ.Tests;

namespace MixDQ.EndToEnd.Tests;

/// <summary>
/// Packs MixDQ.Runtime and MixDQ.Sdk once per test run into a temporary feed, under a unique prerelease
/// version so that no package NuGet cached earlier can stand in for the bits under test, and with its own
/// artifacts path so that the repository's bin/obj folders are neither used nor touched. The extracted
/// copies of that version are removed from the global packages folder afterwards.
/// </summary>
public sealed class PackedFeedFixture : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public PackedFeedFixture()
    {
        Version = "0.1.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "." + Environment.ProcessId;
        Feed = Directory.CreateDirectory(_tmp.File("feed")).FullName;
        string artifacts = _tmp.File("artifacts");
        foreach (string project in new[] { "src/MixDQ.Runtime", "sdk/MixDQ.Sdk" })
        {
            var r = DotnetCli.Run(RepoPaths.Root, TimeSpan.FromMinutes(5), "pack", project, "-c", "Release", "-o", Feed,
                "--artifacts-path", artifacts, "-p:Version=" + Version, "-nodeReuse:false", "-v:q", "-nologo");
            if (r.ExitCode != 0) throw new InvalidOperationException($"packing {project} failed:\n{r.Output}");
        }
        SdkPackage = Path.Combine(Feed, $"MixDQ.Sdk.{Version}.nupkg");
        if (!File.Exists(SdkPackage)) throw new InvalidOperationException("MixDQ.Sdk package missing after pack");
    }

    public string Version { get; }

    public string Feed { get; }

    public string SdkPackage { get; }

    /// <summary>A new consumer project folder with its own NuGet.config (the temp feed plus the default sources).</summary>
    internal ConsumerProject NewConsumer(string itemsXml, string programCs = ConsumerProject.DefaultProgram) =>
        new(this, itemsXml, programCs);

    public void Dispose()
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } c
            ? c : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in new[] { "mixdq.sdk", "mixdq.runtime" })
        {
            string dir = Path.Combine(cache, id, Version.ToLowerInvariant());
            try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        _tmp.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PackedFeedCollection : ICollectionFixture<PackedFeedFixture>
{
    public const string Name = "packed feed";
}
