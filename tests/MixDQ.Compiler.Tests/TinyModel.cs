namespace MixDQ.Tests;

/// <summary>The committed tiny random diffusers folder (tools/make-tiny-random.py), and writable copies of it.</summary>
internal static class TinyModel
{
    public static string Directory => Path.Combine(RepoPaths.Root, "samples", "models", "tiny-random");

    /// <summary>Copies the tiny model into <paramref name="target"/> so a test may damage it.</summary>
    public static string CopyTo(string target)
    {
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Directory, file);
            string dest = Path.Combine(target, rel);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
        return target;
    }
}
