using System.CommandLine;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Text;

namespace MixDQ.Cli.Commands;

/// <summary><c>mixdq tokenize</c>: the 77 ids of each tokenizer of a folder, one JSON array per line.</summary>
internal static class TokenizeCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Option<string>("--model") { Description = "diffusers model folder", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "the text prompt", Required = true };
        var cmd = new Command("tokenize", "Print the token ids of each tokenizer of a model folder.") { model, prompt };
        cmd.SetAction(r =>
        {
            string dir = r.GetValue(model)!;
            if (!Directory.Exists(dir))
                throw new MixDQException(ErrorCodes.ModelFolderMissing, "the model folder does not exist", dir);
            var folders = new[] { "tokenizer", "tokenizer_2" }.Select(n => Path.Combine(dir, n)).Where(Directory.Exists).ToList();
            if (folders.Count == 0)
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "no tokenizer folder (tokenizer/, tokenizer_2/) in the model", dir);
            foreach (var folder in folders)
            {
                var tokenized = ClipTokenizer.FromFolder(folder).Encode(r.GetValue(prompt)!);
                if (tokenized.Truncated)
                    ctx.Error.WriteLine(new MixDQWarning(ErrorCodes.PromptTruncated,
                        $"the prompt has {tokenized.TokenCount} tokens and was truncated", folder).ToDiagnosticLine());
                ctx.Out.WriteLine("[" + string.Join(",", tokenized.Ids) + "]");
            }
            return CliApp.ExitOk;
        });
        return cmd;
    }
}
