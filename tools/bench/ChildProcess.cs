using System.Diagnostics;

namespace MixDQ.Bench;

/// <summary>Runs a child process to completion and captures its output.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>This benchmark itself, started afresh with <paramref name="args"/> (a clean process per measurement).</summary>
    public static Result RunSelf(params string[] args)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown");
        // Under `dotnet MixDQ.Bench.dll` the process is the host; the child needs the assembly as its first argument.
        bool isHost = Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        string[] full = isHost ? [typeof(ChildProcess).Assembly.Location, .. args] : args;
        return Run(exe, full);
    }

    public static Result Run(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) info.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}");
        // Read both streams concurrently so that neither pipe fills up and blocks the child.
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, stdout, stderr.Result);
    }
}
