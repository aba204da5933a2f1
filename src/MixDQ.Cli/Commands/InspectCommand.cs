using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Cli.Commands;

/// <summary><c>mixdq inspect</c>: what a model folder or a safetensors file holds.</summary>
internal static class InspectCommand
{
    public static Command Create(CliContext ctx)
    {
        var path = new Argument<string>("path") { Description = "a diffusers model folder or a .safetensors file" };
        var cmd = new Command("inspect", "Show components, tensor counts, parameters, dtypes and bytes.") { path };
        cmd.SetAction(r =>
        {
            string p = r.GetValue(path)!;
            if (File.Exists(p)) InspectFile(ctx.Out, p, indent: "");
            else if (Directory.Exists(p)) InspectFolder(ctx.Out, p);
            else throw new MixDQException(ErrorCodes.FileUnreadable, "no such file or folder", p);
            return CliApp.ExitOk;
        });
        return cmd;
    }

    private static void InspectFolder(TextWriter o, string dir)
    {
        string index = Path.Combine(dir, "model_index.json");
        if (File.Exists(index))
            o.WriteLine($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))}: {ReadClassName(index) ?? "?"}");
        long totalParams = 0, totalBytes = 0;
        foreach (var sub in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal))
        {
            var files = Directory.GetFiles(sub, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToList();
            string config = Path.Combine(sub, "config.json");
            string? cls = File.Exists(config) ? ReadClassName(config) : null;
            bool tokenizer = File.Exists(Path.Combine(sub, "vocab.json"));
            bool scheduler = File.Exists(Path.Combine(sub, "scheduler_config.json"));
            if (files.Count == 0 && cls is null && !tokenizer && !scheduler) continue;
            string kind = cls ?? (tokenizer ? "tokenizer" : scheduler ? ReadClassName(Path.Combine(sub, "scheduler_config.json")) ?? "scheduler" : "");
            o.WriteLine($"  {Path.GetFileName(sub)}/ {kind}");
            foreach (var f in files)
            {
                var (p, b) = InspectFile(o, f, indent: "    ");
                totalParams += p;
                totalBytes += b;
            }
        }
        o.WriteLine($"  total: {Format(totalParams)} parameters, {FormatBytes(totalBytes)} in safetensors files");
    }

    private static (long Params, long Bytes) InspectFile(TextWriter o, string path, string indent)
    {
        using var file = SafetensorsFile.Open(path);
        var infos = file.Tensors.ToList();
        long parameters = infos.Sum(t => t.ElementCount);
        long bytes = infos.Sum(t => t.ByteLength);
        string dtypes = string.Join(", ", infos.GroupBy(t => t.DType).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}"));
        o.WriteLine($"{indent}{Path.GetFileName(path)}: {infos.Count} tensors, {Format(parameters)} parameters, {FormatBytes(bytes)} ({dtypes})");
        return (parameters, bytes);
    }

    private static string? ReadClassName(string jsonPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (root.TryGetProperty("_class_name", out var c) && c.ValueKind == JsonValueKind.String) return c.GetString();
            // transformers configs name their class in "architectures".
            return root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0
                && a[0].ValueKind == JsonValueKind.String ? a[0].GetString() : null;
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.ConfigInvalid, $"not valid JSON: {e.Message}", jsonPath);
        }
    }

    private static string Format(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string FormatBytes(long b) => b switch
    {
        >= 1L << 30 => $"{b / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{b / (double)(1L << 20):F2} MiB",
        >= 1L << 10 => $"{b / 1024.0:F1} KiB",
        _ => $"{b} B",
    };
}
