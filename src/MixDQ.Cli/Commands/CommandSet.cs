using System.CommandLine;

namespace MixDQ.Cli.Commands;

/// <summary>Every subcommand of <c>mixdq</c>.</summary>
internal static class CommandSet
{
    public static IEnumerable<Command> All(CliContext context) =>
    [
        GenerateCommand.Create(context),
        TokenizeCommand.Create(context),
        InspectCommand.Create(context),
        CompileCommand.Create(context),
        EvaluateCommand.Create(context),
        ReportCommand.Create(context),
    ];
}
