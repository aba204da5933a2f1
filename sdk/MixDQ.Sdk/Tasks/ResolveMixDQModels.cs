using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MixDQ.Sdk.Tasks
{
    /// <summary>
    /// Validates every <c>MixDQModel</c> item (each bad metadata is one MSBuild error with its MIXDQ code at
    /// the item's line in the project file) and resolves the paths the build needs: the plan and artifact
    /// it will produce, the input files that decide whether the compiler must run, and the settings line.
    /// Dependency-free (MSBuild API only), so it runs in the MSBuild process without loading anything else.
    /// </summary>
    public sealed class ResolveMixDQModels : Task
    {

        [Required]
        public ITaskItem[] Models { get; set; } = Array.Empty<ITaskItem>();

        [Required]
        public string ProjectFile { get; set; } = "";

        /// <summary>Where plans and artifacts go (the intermediate folder).</summary>
        [Required]
        public string OutputDirectory { get; set; } = "";

        /// <summary>The compiler the build will run; part of every model's settings so an SDK update recompiles.</summary>
        public string CompilerPath { get; set; } = "";

        public string RootNamespace { get; set; } = "";

        /// <summary>One item per valid model, with the metadata the compile target and the generator read.</summary>
        [Output]
        public ITaskItem[] ResolvedModels { get; private set; } = Array.Empty<ITaskItem>();

        /// <summary>Every file of every model folder (plus prompts and lock files): the compile target's Inputs.</summary>
        [Output]
        public ITaskItem[] InputFiles { get; private set; } = Array.Empty<ITaskItem>();

        public override bool Execute()
        {
            string projectDir = Path.GetDirectoryName(Path.GetFullPath(ProjectFile)) ?? ".";
            string outDir = Path.GetFullPath(Path.Combine(projectDir, OutputDirectory));
            var resolved = new List<ITaskItem>();
            var inputs = new List<ITaskItem>();
            var classNames = new Dictionary<string, ItemLocation>(StringComparer.Ordinal);

            var locator = ProjectItemLocator.Read(ProjectFile, "MixDQModel");
            foreach (var item in Models)
            {
                string declaredClass = item.GetMetadata("ClassName").Trim();
                var at = locator.Locate(item.ItemSpec, declaredClass.Length > 0 ? declaredClass : null);
                var r = Resolve(item, at, projectDir, outDir);
                if (r is null) continue;
                string className = r.GetMetadata("ClassName");
                if (classNames.TryGetValue(className, out var first))
                {
                    Error(at, Codes.DuplicateClassName,
                        $"MixDQModel '{item.ItemSpec}' uses ClassName '{className}', which MixDQModel at line {first.Line} already uses",
                        "give each MixDQModel its own ClassName");
                    continue;
                }
                classNames.Add(className, at);
                resolved.Add(r);
                inputs.AddRange(Inputs(r, projectDir));
            }
            ResolvedModels = resolved.ToArray();
            InputFiles = inputs.ToArray();
            return !Log.HasLoggedErrors;
        }

        private TaskItem? Resolve(ITaskItem item, ItemLocation at, string projectDir, string outDir)
        {
            bool ok = true;
            string modelDir = Path.GetFullPath(Path.Combine(projectDir, item.ItemSpec));
            if (!Directory.Exists(modelDir))
            {
                Error(at, Codes.ModelFolderMissing, $"MixDQModel '{item.ItemSpec}': the folder '{modelDir}' does not exist",
                    "set Include to a diffusers pipeline folder, relative to the project file");
                ok = false;
            }

            string className = item.GetMetadata("ClassName").Trim();
            if (className.Length == 0) className = Identifiers.FromFolderName(Path.GetFileName(modelDir.TrimEnd(Path.DirectorySeparatorChar)));
            if (!Identifiers.IsIdentifier(className))
            {
                Error(at, Codes.ClassNameInvalid, $"MixDQModel '{item.ItemSpec}': ClassName '{className}' is not a C# identifier",
                    "use letters, digits and '_', not starting with a digit and not a C# keyword, e.g. ClassName=\"MyModel\"");
                ok = false;
            }

            string ns = item.GetMetadata("Namespace").Trim();
            if (ns.Length == 0) ns = RootNamespace.Trim();
            if (ns.Length > 0 && !Identifiers.IsNamespace(ns))
            {
                Error(at, Codes.ClassNameInvalid, $"MixDQModel '{item.ItemSpec}': Namespace '{ns}' is not a C# namespace",
                    "use dot-separated C# identifiers, e.g. Namespace=\"MyApp.Models\"");
                ok = false;
            }

            string? weightBits = Decimal(item, at, "WeightBits", 2, 8, "an average from 2 to 8 (e.g. 4 or 3.66), or 16 or 32");
            string? activationBits = Decimal(item, at, "ActivationBits", 4, 8, "an average from 4 to 8 (e.g. 8 or 7.7), or 16 or 32");
            int? steps = Number(item, at, "Steps", null, "a whole number from 1 to 1000");
            ok &= weightBits is not null && activationBits is not null && steps.HasValue;
            string method = item.GetMetadata("Method").Trim().ToLowerInvariant();
            if (method.Length > 0 && Array.IndexOf(Methods, method) < 0)
            {
                Error(at, Codes.MetadataInvalid, $"MixDQModel '{item.ItemSpec}': Method=\"{method}\" is not valid; expected mixdq, naive, sqnr-only or no-bos",
                    "set Method to mixdq (default), naive, sqnr-only or no-bos");
                ok = false;
            }

            string prompts = item.GetMetadata("CalibrationPrompts").Trim();
            string promptsPath = prompts.Length == 0 ? "" : Path.GetFullPath(Path.Combine(projectDir, prompts));
            if (promptsPath.Length > 0 && !File.Exists(promptsPath))
            {
                Error(at, Codes.CalibrationPromptsInvalid, $"MixDQModel '{item.ItemSpec}': CalibrationPrompts file '{promptsPath}' does not exist",
                    "point CalibrationPrompts at a text file with one prompt per line, relative to the project file");
                ok = false;
            }
            if (!ok) return null;

            var r = new TaskItem(modelDir);
            r.SetMetadata("ClassName", className);
            r.SetMetadata("Namespace", ns);
            r.SetMetadata("WeightBits", weightBits);
            r.SetMetadata("ActivationBits", activationBits);
            r.SetMetadata("Method", method);
            // Analysis settings the compiler validates itself (its MIXDQ errors land on this item's line).
            foreach (string name in PassThroughMetadata) r.SetMetadata(name, item.GetMetadata(name).Trim());
            string lockFile = Path.Combine(projectDir, className + ".mixdq.lock.json");
            r.SetMetadata("LockFile", lockFile);
            r.SetMetadata("Steps", steps!.Value.ToString(CultureInfo.InvariantCulture));
            r.SetMetadata("CalibrationPrompts", promptsPath);
            r.SetMetadata("ModelDirectory", modelDir);
            r.SetMetadata("OutputDirectory", outDir);
            r.SetMetadata("PlanFile", Path.Combine(outDir, className + ".mixdq.plan.json"));
            r.SetMetadata("ArtifactFile", Path.Combine(outDir, className + ".mixdq.safetensors"));
            r.SetMetadata("SettingsFile", Path.Combine(outDir, className + ".mixdq.settings"));
            r.SetMetadata("SettingsText", string.Join(";", new[]
            {
                "compiler=" + CompilerPath, "model=" + modelDir, "class=" + className, "weightBits=" + weightBits,
                "activationBits=" + activationBits, "steps=" + steps, "prompts=" + promptsPath, "method=" + method,
            }.Concat(PassThroughMetadata.Select(n => n + "=" + item.GetMetadata(n).Trim()))));
            r.SetMetadata("DefinitionFile", at.File);
            r.SetMetadata("DefinitionLine", at.Line.ToString(CultureInfo.InvariantCulture));
            r.SetMetadata("DefinitionColumn", at.Column.ToString(CultureInfo.InvariantCulture));
            r.SetMetadata("OriginalItemSpec", item.ItemSpec);
            return r;
        }

        /// <summary>Item metadata handed to the compiler as they are (empty = the compiler's default).</summary>
        internal static readonly string[] PassThroughMetadata =
            { "WeightCandidates", "ActivationCandidates", "CalibrationPromptCount", "SensitivityPrompts", "PickShortlist", "ProtectedShare", "WeightScheme", "WeightClipping", "MixDQReport" };

        private static readonly string[] Methods = { "mixdq", "naive", "sqnr-only", "no-bos" };

        /// <summary>A target width: a float width (16, 32), or an integer average within [min, max]; null after an error.</summary>
        private string? Decimal(ITaskItem item, ItemLocation at, string name, double min, double max, string expected)
        {
            string text = item.GetMetadata(name).Trim();
            if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v)
                && (v == 16 || v == 32 || (v >= min && v <= max)))
                return v.ToString("R", CultureInfo.InvariantCulture);
            Error(at, text.Length > 0 && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _) && v < 16 ? Codes.BitBudgetUnreachable : Codes.MetadataInvalid,
                $"MixDQModel '{item.ItemSpec}': {name}=\"{text}\" is not valid; expected {expected}",
                $"set {name} to {expected}, or remove it to use the default");
            return null;
        }

        private int? Number(ITaskItem item, ItemLocation at, string name, int[]? allowed, string expected)
        {
            string text = item.GetMetadata(name).Trim();
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                || (allowed is not null && Array.IndexOf(allowed, v) < 0) || (allowed is null && (v < 1 || v > 1000)))
            {
                Error(at, Codes.MetadataInvalid, $"MixDQModel '{item.ItemSpec}': {name}=\"{text}\" is not valid; expected {expected}",
                    $"set {name} to {expected}, or remove it to use the default");
                return null;
            }
            return v;
        }

        private static IEnumerable<ITaskItem> Inputs(ITaskItem model, string projectDir)
        {
            string dir = model.GetMetadata("ModelDirectory");
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(f => !f.Substring(dir.Length).Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(p => p.StartsWith(".", StringComparison.Ordinal)))
                .ToList();
            string prompts = model.GetMetadata("CalibrationPrompts");
            if (prompts.Length > 0) files.Add(prompts);
            // The analysis cache is an input when present (a lock file from elsewhere, e.g. a pull, recompiles).
            string lockFile = model.GetMetadata("LockFile");
            if (File.Exists(lockFile)) files.Add(lockFile);
            files.Add(model.GetMetadata("SettingsFile"));
            foreach (string f in files)
            {
                var i = new TaskItem(f);
                i.SetMetadata("MixDQClassName", model.GetMetadata("ClassName"));
                yield return i;
            }
        }

        private void Error(ItemLocation at, string code, string message, string hint) =>
            Log.LogError(null, code, null, at.File, at.Line, at.Column, 0, 0, message + ". Fix: " + hint);
    }

    /// <summary>The MIXDQ codes the SDK reports (same values as MixDQ.Runtime's ErrorCodes).</summary>
    public static class Codes
    {
        public const string ModelFolderMissing = "MIXDQ020";
        public const string MetadataInvalid = "MIXDQ063";
        public const string ClassNameInvalid = "MIXDQ064";
        public const string DuplicateClassName = "MIXDQ065";
        public const string CompilerFailed = "MIXDQ066";
        public const string CalibrationPromptsInvalid = "MIXDQ069";
        public const string BitBudgetUnreachable = "MIXDQ070";
    }
}
