using MixDQ.Compiler.CommandLine;

namespace MixDQ.Compiler;

internal static class Program
{
    public static int Main(string[] args)
    {
        // Ctrl+C (or MSBuild cancelling the build) stops the analysis between images; outputs are written atomically,
        // so a cancelled compile leaves no partial plan or artifact, and the lock file keeps the passes already done.
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        return CompileCommandLine.Run(args, Console.Out, Console.Error, cancel.Token);
    }
}
