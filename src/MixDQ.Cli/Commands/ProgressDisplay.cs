using MixDQ.Runtime.Pipelines;

namespace MixDQ.Cli.Commands;

/// <summary>Shows generation progress on stderr: one updating line on a terminal, one line per stage otherwise.</summary>
internal sealed class ProgressDisplay(TextWriter writer) : IProgress<GenerationProgress>
{
    private readonly bool _interactive = ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private string? _lastStage;

    public void Report(GenerationProgress p)
    {
        string line = $"[{_clock.Elapsed.TotalSeconds,6:F1}s] {p.Stage,-6} {Bar(p.Step, p.TotalSteps)} {p.Step}/{p.TotalSteps}";
        if (_interactive)
        {
            writer.Write("\r" + line);
            if (p.Step == p.TotalSteps) writer.WriteLine();
        }
        else if (p.Step == p.TotalSteps || p.Stage != _lastStage)
        {
            writer.WriteLine(line);
        }
        _lastStage = p.Stage;
    }

    public void Finish() => writer.Flush();

    internal static string Bar(int step, int total)
    {
        const int width = 20;
        int filled = total <= 0 ? width : step * width / total;
        return "[" + new string('#', filled) + new string('.', width - filled) + "]";
    }
}
