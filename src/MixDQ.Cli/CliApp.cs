namespace MixDQ.Cli;

/// <summary>The mixdq command line (placeholder until the commands land).</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stderr.WriteLine("error MIXDQ050: no command");
        return 2;
    }
}
