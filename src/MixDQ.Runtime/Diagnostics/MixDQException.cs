namespace MixDQ.Runtime.Diagnostics;

/// <summary>
/// The one error type the product throws for bad input. It carries a stable code
/// (<c>MIXDQ0nn</c>, see <see cref="ErrorCodes"/>), the file at fault and the tensor, field or
/// item inside it, so the CLI and the MSBuild task can print one line without a stack trace.
/// </summary>
public sealed class MixDQException : Exception
{
    public MixDQException(string code, string message, string? file = null, string? item = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        File = file;
        Item = item;
    }

    /// <summary>Stable error code, e.g. <c>MIXDQ003</c>.</summary>
    public string Code { get; }

    /// <summary>The file at fault, when there is one.</summary>
    public string? File { get; }

    /// <summary>The tensor, field or item inside <see cref="File"/> at fault, when there is one.</summary>
    public string? Item { get; }

    /// <summary>One line: <c>error MIXDQ0nn: message (file: F, at: X)</c>.</summary>
    public string ToDiagnosticLine()
    {
        var where = (File, Item) switch
        {
            (not null, not null) => $" (file: {File}, at: {Item})",
            (not null, null) => $" (file: {File})",
            (null, not null) => $" (at: {Item})",
            _ => "",
        };
        return $"error {Code}: {Message}{where}";
    }
}
