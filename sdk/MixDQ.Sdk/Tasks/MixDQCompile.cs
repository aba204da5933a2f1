using System;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MixDQ.Sdk.Tasks
{
    /// <summary>
    /// Runs the MixDQ compiler out of process (<c>dotnet mixdq-compile.dll compile ...</c>), the Grpc.Tools
    /// pattern: heavy and native code never loads into MSBuild or the IDE. Its progress lines become
    /// MSBuild messages; its <c>error|warning MIXDQ0nn: ...</c> lines become MSBuild errors and warnings
    /// with that code, placed on the project file line of the <c>MixDQModel</c> item.
    /// </summary>
    public sealed class MixDQCompile : ToolTask
    {
        private static readonly Regex DiagnosticLine = new Regex(@"^(?<kind>error|warning) (?<code>MIXDQ\d{3}): (?<message>.*)$", RegexOptions.CultureInvariant);

        /// <summary>The <c>dotnet</c> host (MSBuild's DOTNET_HOST_PATH); empty = <c>dotnet</c> on the PATH.</summary>
        public string DotnetHostPath { get; set; } = "";

        [Required]
        public string CompilerPath { get; set; } = "";

        /// <summary>A resolved MixDQModel item (ResolveMixDQModels output).</summary>
        [Required]
        public ITaskItem Model { get; set; } = null!;

        private bool _sawError;

        protected override string ToolName => "dotnet";

        protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;

        protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

        protected override string GenerateFullPathToTool() =>
            string.IsNullOrEmpty(DotnetHostPath) ? ToolName : DotnetHostPath;

        protected override string GenerateCommandLineCommands()
        {
            var b = new CommandLineBuilder();
            b.AppendSwitch("exec");
            b.AppendFileNameIfNotNull(CompilerPath);
            b.AppendSwitch("compile");
            b.AppendSwitchIfNotNull("--model ", Model.GetMetadata("ModelDirectory"));
            b.AppendSwitchIfNotNull("--class ", Model.GetMetadata("ClassName"));
            b.AppendSwitchIfNotNull("--out ", Model.GetMetadata("OutputDirectory"));
            b.AppendSwitchIfNotNull("--weight-bits ", Model.GetMetadata("WeightBits"));
            b.AppendSwitchIfNotNull("--activation-bits ", Model.GetMetadata("ActivationBits"));
            b.AppendSwitchIfNotNull("--steps ", Model.GetMetadata("Steps"));
            string prompts = Model.GetMetadata("CalibrationPrompts");
            if (prompts.Length > 0) b.AppendSwitchIfNotNull("--calibration-prompts ", prompts);
            Optional(b, "--method ", "Method");
            Optional(b, "--weight-candidates ", "WeightCandidates");
            Optional(b, "--activation-candidates ", "ActivationCandidates");
            Optional(b, "--calibration-count ", "CalibrationPromptCount");
            Optional(b, "--sensitivity-prompts ", "SensitivityPrompts");
            Optional(b, "--pick-shortlist ", "PickShortlist");
            Optional(b, "--protected-share ", "ProtectedShare");
            Optional(b, "--weight-scheme ", "WeightScheme");
            Optional(b, "--weight-clipping ", "WeightClipping");
            Optional(b, "--lock ", "LockFile");
            Optional(b, "--report ", "MixDQReport");
            return b.ToString();
        }

        private void Optional(CommandLineBuilder b, string option, string metadata)
        {
            string value = Model.GetMetadata(metadata);
            if (value.Length > 0) b.AppendSwitchIfNotNull(option, value);
        }

        public override bool Execute()
        {
            Log.LogMessage(MessageImportance.High, "MixDQ: compiling {0} from {1}", Model.GetMetadata("ClassName"), Model.GetMetadata("OriginalItemSpec"));
            return base.Execute() && !_sawError;
        }

        protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
        {
            var m = DiagnosticLine.Match(singleLine.TrimEnd());
            if (!m.Success)
            {
                // "mixdq: compiled X: ..." is the summary worth seeing at normal verbosity; other lines are progress.
                bool summary = singleLine.StartsWith("mixdq: compiled ", StringComparison.Ordinal);
                Log.LogMessage(summary ? MessageImportance.High : messageImportance, "{0}", singleLine.StartsWith("mixdq: ", StringComparison.Ordinal) ? "MixDQ: " + singleLine.Substring(7) : singleLine);
                return;
            }
            string file = Model.GetMetadata("DefinitionFile");
            int line = ParseInt(Model.GetMetadata("DefinitionLine"));
            int column = ParseInt(Model.GetMetadata("DefinitionColumn"));
            string message = $"MixDQModel '{Model.GetMetadata("OriginalItemSpec")}': {m.Groups["message"].Value}";
            if (m.Groups["kind"].Value == "error")
            {
                _sawError = true;
                Log.LogError(null, m.Groups["code"].Value, null, file, line, column, 0, 0, message);
            }
            else
            {
                Log.LogWarning(null, m.Groups["code"].Value, null, file, line, column, 0, 0, message);
            }
        }

        protected override bool HandleTaskExecutionErrors()
        {
            if (_sawError || Log.HasLoggedErrors) return false;
            Log.LogError(null, Codes.CompilerFailed, null, Model.GetMetadata("DefinitionFile"), ParseInt(Model.GetMetadata("DefinitionLine")),
                ParseInt(Model.GetMetadata("DefinitionColumn")), 0, 0,
                $"the MixDQ compiler exited with code {ExitCode} without a diagnostic. Fix: this is a bug; please report it with the build log");
            return false;
        }

        private static int ParseInt(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : 0;
    }
}
