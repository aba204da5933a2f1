using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Analysis;

/// <summary>Reads a calibration prompt file: UTF-8 text, one prompt per line, blank lines and <c>#</c> comments skipped.</summary>
public static class CalibrationPrompts
{
    /// <summary>The file a model folder ships with; used when no CalibrationPrompts is given.</summary>
    public const string DefaultFileName = "calibration_prompts.txt";

    public const int MaxPromptCharacters = 1000;
    public const int MaxPrompts = 100_000;
    public const long MaxFileBytes = 16L << 20;

    /// <summary>The prompt file to use: the one asked for, else the model folder's default (MIXDQ069 when neither exists).</summary>
    public static string Resolve(string? requested, string modelDirectory)
    {
        if (requested is not null)
        {
            if (!File.Exists(requested))
                throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, "the calibration prompt file does not exist", requested, "CalibrationPrompts");
            return Path.GetFullPath(requested);
        }
        string fallback = Path.Combine(modelDirectory, DefaultFileName);
        if (!File.Exists(fallback))
            throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid,
                $"integer bits need calibration prompts: set CalibrationPrompts, or add {DefaultFileName} (one prompt per line) to the model folder", fallback, "CalibrationPrompts");
        return Path.GetFullPath(fallback);
    }

    public static IReadOnlyList<string> Load(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes)
            throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, $"the calibration prompt file has {info.Length} bytes; at most {MaxFileBytes} are read", path, "CalibrationPrompts");
        var prompts = new List<string>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.Length > MaxPromptCharacters)
                throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, $"line {lineNumber} has {line.Length} characters; a prompt may have at most {MaxPromptCharacters}", path, $"line {lineNumber}");
            if (line.Contains('\0'))
                throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, $"line {lineNumber} holds a NUL character (is this a text file?)", path, $"line {lineNumber}");
            prompts.Add(line);
            if (prompts.Count > MaxPrompts)
                throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, $"the file has more than {MaxPrompts} prompts", path, "CalibrationPrompts");
        }
        if (prompts.Count == 0)
            throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, "the calibration prompt file holds no prompt", path, "CalibrationPrompts");
        return prompts;
    }
}
