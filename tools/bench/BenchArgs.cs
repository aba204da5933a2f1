using System.Globalization;

namespace MixDQ.Bench;

/// <summary>The command line: the first bare word is the command, <c>--name value</c> pairs are options, <c>--flag</c> switches.</summary>
internal sealed class BenchArgs(string[] args)
{
    public string Command { get; } = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "gemm";

    public string? String(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public int? Int(string name)
    {
        string? s = String(name);
        if (s is null) return null;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1
            ? v
            : throw new BenchUsageException($"{name} must be a positive integer, got '{s}'");
    }

    public int[] IntList(string name, int[] fallback)
    {
        string? s = String(name);
        if (s is null) return fallback;
        try
        {
            var list = s.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            return list.All(v => v >= 1) ? list : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new BenchUsageException($"{name} must be a comma-separated list of positive integers, got '{s}'");
        }
    }

    public bool Flag(string name) => args.Contains(name);

    public int Threads => Int("--threads") ?? Environment.ProcessorCount;
}

/// <summary>A bad command line: printed without a stack trace.</summary>
internal sealed class BenchUsageException(string message) : Exception(message);
