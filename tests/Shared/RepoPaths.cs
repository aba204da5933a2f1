namespace MixDQ.Tests;

/// <summary>Where the repository and the project's shared reference data are, seen from a test.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Compiler.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Compiler.sln not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The repository root (the folder holding Compiler.sln).</summary>
    public static string Root => RootLazy.Value;

    /// <summary>
    /// The shared reference folder: beside the checkout (<c>../shared</c>), else <c>$MIXDQ_SHARED</c>, else beside the
    /// repository this one was cloned from (a scratch clone in a temp folder, as a CI dry run makes).
    /// </summary>
    public static string Shared => SharedLazy.Value;

    private static readonly Lazy<string> SharedLazy = new(() =>
    {
        string beside = Path.GetFullPath(Path.Combine(Root, "..", "shared"));
        var candidates = new List<string?> { beside, Environment.GetEnvironmentVariable("MIXDQ_SHARED") };
        if (OriginPath() is { } origin) candidates.Add(Path.GetFullPath(Path.Combine(origin, "..", "shared")));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && Directory.Exists(c)) ?? beside;
    });

    /// <summary>The local path of the <c>origin</c> remote, when it is one.</summary>
    private static string? OriginPath()
    {
        string config = Path.Combine(Root, ".git", "config");
        if (!File.Exists(config)) return null;
        bool inOrigin = false;
        foreach (string raw in File.ReadLines(config))
        {
            string line = raw.Trim();
            if (line.StartsWith('[')) inOrigin = line == "[remote \"origin\"]";
            else if (inOrigin && line.StartsWith("url", StringComparison.Ordinal) && line.IndexOf('=') is int eq and > 0)
            {
                string url = line[(eq + 1)..].Trim();
                return Path.IsPathRooted(url) && Directory.Exists(url) ? url : null;
            }
        }
        return null;
    }

    public static string SharedReference(params string[] parts) => Path.Combine([Shared, "reference", .. parts]);

    public static string ClipMerges => Path.Combine(Shared, "data", "clip", "bpe_simple_vocab_16e6.txt.gz");

    /// <summary>A fresh temporary folder, deleted when disposed.</summary>
    public static TempDir NewTempDir() => new();
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mixdq-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
