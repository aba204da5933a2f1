namespace MixDQ.Tests;

/// <summary>Where the repository and its test data are, seen from a test.</summary>
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

    /// <summary>The repository's test data (<c>tests/data</c>, see its README): everything a test reads lives in the repository.</summary>
    public static string TestData(params string[] parts) => Path.Combine([Root, "tests", "data", .. parts]);

    /// <summary>The expected tensor names and shapes of a real network (<c>tests/data/keys</c>).</summary>
    public static string KeyList(string file) => TestData("keys", file);

    public static string ClipMerges => TestData("clip", "bpe_simple_vocab_16e6.txt.gz");

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
