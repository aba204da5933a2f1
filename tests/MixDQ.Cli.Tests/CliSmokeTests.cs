namespace MixDQ.Cli.Tests;

public class CliSmokeTests
{
    [Fact]
    public void No_command_is_an_error_with_code()
    {
        var err = new StringWriter();
        Assert.Equal(2, CliApp.Run([], TextWriter.Null, err));
        Assert.StartsWith("error MIXDQ", err.ToString());
    }
}
