namespace MixDQ.Runtime.Diagnostics;

/// <summary>A non-fatal finding (NaN weights, a truncated prompt): a stable code, what, and where.</summary>
public sealed record MixDQWarning(string Code, string Message, string? File = null, string? Item = null)
{
    public string ToDiagnosticLine()
    {
        string where = (File, Item) switch
        {
            (not null, not null) => $" (file: {File}, at: {Item})",
            (not null, null) => $" (file: {File})",
            (null, not null) => $" (at: {Item})",
            _ => "",
        };
        return $"warning {Code}: {Message}{where}";
    }
}
