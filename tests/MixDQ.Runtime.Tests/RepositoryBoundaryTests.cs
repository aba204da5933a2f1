using System.Text.RegularExpressions;

namespace MixDQ.Tests;

/// <summary>
/// Everything the build, the tests, the tools and the samples read lives in the repository, so that any clone passes
/// its tests: no source refers to a folder beside the checkout (the project once read a folder beside it), to an absolute
/// machine path, or to a project file path that climbs out of the repository.
/// </summary>
public sealed class RepositoryBoundaryTests
{
    private static readonly string[] ScannedFolders = ["src", "sdk", "tests", "samples", "tools", ".ci"];

    private static readonly HashSet<string> CodeExtensions =
        [".cs", ".csproj", ".props", ".targets", ".py", ".sh", ".json", ".txt", ".config", ".sln", ""];

    // Built from pieces so this file does not match itself.
    private static readonly Regex[] OutsidePaths =
    [
        new(@"\.\.[/\\]" + "shared", RegexOptions.IgnoreCase),
        new("\"\\.\\.\"\\s*,\\s*\"" + "shared\"", RegexOptions.IgnoreCase),
        new("MIXDQ_" + "SHARED"),
        new("/" + "work/"),
        new(@"(Root|RepoRoot)\s*,\s*""\.\.""" ),
    ];

    private static readonly Regex ProjectPath = new("(?:Include|Project|Update|Link)=\"([^\"$]*\\.\\.[^\"]*)\"");

    [Fact]
    public void No_source_refers_to_a_path_outside_the_repository()
    {
        var offences = new List<string>();
        foreach (string file in SourceFiles())
        {
            int lineNumber = 0;
            foreach (string line in File.ReadLines(file))
            {
                lineNumber++;
                foreach (var pattern in OutsidePaths)
                    if (pattern.IsMatch(line))
                        offences.Add($"{Relative(file)}:{lineNumber}: {line.Trim()}");
            }
        }
        Assert.True(offences.Count == 0, "paths outside the repository:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void Project_files_reference_only_files_inside_the_repository()
    {
        string root = Path.GetFullPath(RepoPaths.Root) + Path.DirectorySeparatorChar;
        var offences = new List<string>();
        foreach (string file in SourceFiles().Where(f => f.EndsWith("proj", StringComparison.Ordinal) || f.EndsWith(".props", StringComparison.Ordinal) || f.EndsWith(".targets", StringComparison.Ordinal)))
        {
            foreach (Match m in ProjectPath.Matches(File.ReadAllText(file)))
            {
                string resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, m.Groups[1].Value.Replace('\\', '/')));
                if (!resolved.StartsWith(root, StringComparison.Ordinal))
                    offences.Add($"{Relative(file)}: {m.Groups[1].Value} → {resolved}");
            }
        }
        Assert.True(offences.Count == 0, "project files reaching outside the repository:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void The_scan_sees_the_sources_and_would_catch_an_outside_path()
    {
        var files = SourceFiles().ToList();
        Assert.Contains(files, f => f.EndsWith("RepoPaths.cs", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("clip_tokenizer.py", StringComparison.Ordinal));
        Assert.Contains(OutsidePaths, p => p.IsMatch("Path.Combine(Root, \"..\", \"shared\", \"data\")"));
        Assert.Contains(OutsidePaths, p => p.IsMatch("BPE = \"/" + "work/shared/data/clip/x.gz\""));
        Assert.True(File.Exists(RepoPaths.ClipMerges), RepoPaths.ClipMerges);
    }

    private static IEnumerable<string> SourceFiles()
    {
        foreach (string folder in ScannedFolders)
        {
            string dir = Path.Combine(RepoPaths.Root, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                string rel = Relative(file);
                if (rel.Contains("/bin/", StringComparison.Ordinal) || rel.Contains("/obj/", StringComparison.Ordinal)
                    || rel.Contains("/runs/", StringComparison.Ordinal) || rel.Contains("__pycache__", StringComparison.Ordinal)
                    || rel.StartsWith("tests/data/", StringComparison.Ordinal)) continue;
                if (CodeExtensions.Contains(Path.GetExtension(file))) yield return file;
            }
        }
    }

    private static string Relative(string file) => Path.GetRelativePath(RepoPaths.Root, file).Replace('\\', '/');
}
