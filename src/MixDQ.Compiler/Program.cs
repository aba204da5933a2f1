using MixDQ.Compiler.CommandLine;

namespace MixDQ.Compiler;

internal static class Program
{
    public static int Main(string[] args) => CompileCommandLine.Run(args, Console.Out, Console.Error);
}
