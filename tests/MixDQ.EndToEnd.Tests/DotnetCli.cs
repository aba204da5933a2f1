using System.Diagnostics;
using System.Text;

namespace MixDQ.EndToEnd.Tests;

/// <summary>Runs the dotnet CLI the way a user would, isolated from the test host's own MSBuild environment.</summary>
internal static class DotnetCli
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    public static Result Run(string workingDirectory, TimeSpan timeout, params string[] args) => Run(workingDirectory, timeout, null, args);

    public static Result Run(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The test host runs under `dotnet test`: drop the MSBuild variables it inherited so the child is a clean build.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || k is "MSBUILD_EXE_PATH" or "MSBuildExtensionsPath" or "MSBuildSDKsPath" or "DOTNET_HOST_PATH").ToList())
            psi.Environment.Remove(key);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit((int)timeout.TotalMilliseconds))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in {timeout}:\n{output}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, output.ToString(), clock.Elapsed);
    }
}
