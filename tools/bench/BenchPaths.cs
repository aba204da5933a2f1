namespace MixDQ.Bench;

/// <summary>Paths the benchmarks resolve relative to the repository (the folder holding Compiler.sln).</summary>
internal static class BenchPaths
{
    private static readonly Lazy<string?> RootLazy = new(() =>
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Compiler.sln"))) return dir.FullName;
        }
        return null;
    });

    /// <summary>The repository root, or null when the bench runs outside a checkout.</summary>
    public static string? RepoRoot => RootLazy.Value;

    /// <summary>A path as given when it exists from the working directory, else relative to the repository root.</summary>
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || Path.Exists(path) || RepoRoot is null) return Path.GetFullPath(path);
        string inRepo = Path.Combine(RepoRoot, path);
        return Path.Exists(inRepo) ? inRepo : Path.GetFullPath(path);
    }

    /// <summary>The TinyShapes PyTorch code (model.py, loader.py, sampling.py): <c>tools/tiny-shapes</c> of the repository.</summary>
    public static string? TinyShapesTools => RepoRoot is null ? null : Path.Combine(RepoRoot, "tools", "tiny-shapes");

    /// <summary>The CLIP BPE merges the repository keeps with its test data (<c>tests/data/clip</c>).</summary>
    public static string? ClipMerges => RepoRoot is null
        ? null
        : Path.Combine(RepoRoot, "tests", "data", "clip", "bpe_simple_vocab_16e6.txt.gz");

    /// <summary>This benchmark's own folder in the repository (where pytorch_generate.py lives).</summary>
    public static string BenchSource =>
        RepoRoot is not null && Directory.Exists(Path.Combine(RepoRoot, "tools", "bench"))
            ? Path.Combine(RepoRoot, "tools", "bench")
            : AppContext.BaseDirectory;
}
