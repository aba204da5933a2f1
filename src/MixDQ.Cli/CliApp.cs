using System.CommandLine;
using MixDQ.Cli.Commands;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Cli;

/// <summary>
/// The <c>mixdq</c> command line. Exit codes: 0 success, 2 bad input (one <c>error MIXDQ0nn</c> line on
/// stderr), 1 an internal failure (one line too; never a stack trace).
/// </summary>
public static class CliApp
{
    public const int ExitOk = 0;
    public const int ExitInternal = 1;
    public const int ExitBadInput = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("MixDQ: mixed-precision diffusion models for .NET (generate, tokenize, inspect).");
        var context = new CliContext(stdout, stderr);
        foreach (var command in CommandSet.All(context)) root.Subcommands.Add(command);

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) stderr.WriteLine($"error {ErrorCodes.InvalidArgument}: {e.Message}");
            return ExitBadInput;
        }
        if (args.Length == 0)
        {
            stderr.WriteLine($"error {ErrorCodes.InvalidArgument}: no command given; try 'mixdq --help'");
            return ExitBadInput;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (MixDQException e)
        {
            stderr.WriteLine(e.ToDiagnosticLine());
            return ExitBadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"error {ErrorCodes.InvalidArgument}: cancelled");
            return ExitInternal;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error {ErrorCodes.InternalError}: internal error: {e.GetType().Name}: {e.Message}");
            return ExitInternal;
        }
    }
}

/// <summary>What commands write to.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error);
