using System.Text;
using System.Text.RegularExpressions;

namespace MixDQ.Cli.Commands;

/// <summary>
/// The compiler's stdout for <c>mixdq compile</c>: on a terminal, its "analysis: PHASE NN% (d/t)" lines become one
/// updating progress bar per phase; every other line (and everything when redirected) passes through unchanged.
/// </summary>
internal sealed partial class ProgressBarWriter(TextWriter inner) : TextWriter
{
    private readonly bool _interactive = ReferenceEquals(inner, Console.Out) && !Console.IsOutputRedirected;
    private readonly StringBuilder _line = new();
    private bool _barOpen;

    [GeneratedRegex(@"^mixdq: analysis: (?<phase>[a-z ]+) (?<pct>\d+)% \((?<done>\d+)/(?<total>\d+)\)$", RegexOptions.CultureInvariant)]
    private static partial Regex PhaseLine();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (value == '\n')
        {
            Emit(_line.ToString().TrimEnd('\r'));
            _line.Clear();
        }
        else _line.Append(value);
    }

    public override void Flush()
    {
        if (_line.Length > 0)
        {
            Emit(_line.ToString());
            _line.Clear();
        }
        if (_barOpen) inner.WriteLine();
        _barOpen = false;
        inner.Flush();
    }

    private void Emit(string line)
    {
        var m = PhaseLine().Match(line);
        if (_interactive && m.Success)
        {
            int done = int.Parse(m.Groups["done"].Value, System.Globalization.CultureInfo.InvariantCulture);
            int total = int.Parse(m.Groups["total"].Value, System.Globalization.CultureInfo.InvariantCulture);
            inner.Write($"\r{m.Groups["phase"].Value,-18} {ProgressDisplay.Bar(done, total)} {m.Groups["pct"].Value,3}% ({done}/{total})");
            inner.Flush();
            _barOpen = true;
            return;
        }
        if (_barOpen) inner.WriteLine();
        _barOpen = false;
        inner.WriteLine(line);
    }
}
