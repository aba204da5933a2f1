using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace MixDQ.Generators
{
    /// <summary>
    /// Turns plan JSON into a <see cref="PlanModel"/>, or into MIXDQ060/061/064 diagnostics that point at
    /// the offending value in the plan file. Mirrors the checks of the compiler's PlanDocument reader.
    /// </summary>
    internal static partial class PlanParser
    {
        public const int SupportedSchemaVersion = 1;
        private static readonly int[] WeightBits = MixDQ.Plans.PlanSchema.WeightBits;
        private static readonly int[] ActivationBits = MixDQ.Plans.PlanSchema.ActivationBits;

        private sealed class PlanError : Exception
        {
            public PlanError(string id, string message, int start, int end)
                : base(message)
            {
                Id = id;
                Start = start;
                End = end;
            }

            public string Id { get; }

            public int Start { get; }

            public int End { get; }
        }

        public static PlanResult Parse(PlanInput input)
        {
            var text = SourceText.From(input.Text, Encoding.UTF8);
            try
            {
                var model = ParseCore(input);
                return new PlanResult(model, EquatableArray<DiagnosticInfo>.Empty);
            }
            catch (PlanError e)
            {
                return Fail(input.Path, text, e.Id, e.Message, e.Start, e.End);
            }
            catch (JsonSyntaxException e)
            {
                int at = Math.Min(e.Offset, input.Text.Length);
                return Fail(input.Path, text, Diagnostics.PlanInvalidId, "not valid JSON: " + e.Message, at, Math.Min(at + 1, input.Text.Length));
            }
        }

        private static PlanResult Fail(string path, SourceText text, string id, string message, int start, int end)
        {
            var span = TextSpan.FromBounds(start, Math.Max(start, end));
            var lines = text.Lines.GetLinePositionSpan(span);
            var d = new DiagnosticInfo(id, message, path, span.Start, span.Length,
                lines.Start.Line, lines.Start.Character, lines.End.Line, lines.End.Character);
            return new PlanResult(null, new EquatableArray<DiagnosticInfo>(new[] { d }));
        }

        private static PlanModel ParseCore(PlanInput input)
        {
            var root = MiniJson.Parse(input.Text);
            if (root.Kind != JsonKind.Object) throw Invalid(root, "the plan must be a JSON object");
            var schema = Str(root, "schema");
            if (schema != "mixdq-plan") throw Invalid(root.Get("schema")!, $"'schema' is '{schema}', expected 'mixdq-plan'");
            int version = Int(root, "schemaVersion");
            if (version > SupportedSchemaVersion)
                throw new PlanError(Diagnostics.PlanVersionId,
                    $"plan schema version {version} is newer than this MixDQ generator supports ({SupportedSchemaVersion}); update the MixDQ.Sdk package",
                    root.Get("schemaVersion")!.Start, root.Get("schemaVersion")!.End);
            if (version < 1) throw Invalid(root.Get("schemaVersion")!, $"schemaVersion {version} is not valid");

            string className = input.ClassName is { Length: > 0 } cn ? cn : Str(root, "className");
            if (!IsIdentifier(className))
                throw new PlanError(Diagnostics.ClassNameId, $"class name '{className}' is not a C# identifier", 0, 0);
            string? ns = string.IsNullOrWhiteSpace(input.Namespace) ? null : input.Namespace!.Trim();
            if (ns is not null && !ns.Split('.').All(IsIdentifier))
                throw new PlanError(Diagnostics.ClassNameId, $"namespace '{ns}' is not a C# namespace name", 0, 0);

            var settings = Obj(root, "settings");
            var artifact = Obj(root, "artifact");
            string floatDType = Str(artifact, "floatDType");
            if (floatDType != "F16" && floatDType != "F32") throw Invalid(artifact.Get("floatDType")!, "artifact.floatDType must be F16 or F32");

            var components = new HashSet<string>(StringComparer.Ordinal);
            var lazy = new List<string>();
            foreach (var c in Arr(root, "components"))
            {
                string name = Str(c, "name");
                components.Add(name);
                // The pipeline loads TAESD (AutoencoderTiny) on first use, so its layers are not in the graph at load time.
                if (Str(c, "class") == "AutoencoderTiny") lazy.Add(name);
            }

            var layers = new List<LayerModel>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var l in Arr(root, "layers"))
            {
                var layer = Layer(l);
                if (!components.Contains(layer.Component)) throw Invalid(l.Get("component")!, $"layer names component '{layer.Component}', which is not in 'components'");
                if (!names.Add(layer.QualifiedName)) throw Invalid(l.Get("name")!, $"layer '{layer.QualifiedName}' appears twice");
                layers.Add(layer);
            }

            var totals = Obj(root, "totals");
            int layerCount = Int(totals, "layerCount");
            int content = Int(totals, "contentLayers");
            int quality = Int(totals, "qualityLayers");
            long parameters = Long(totals, "parameters");
            long weightBytes = Long(totals, "weightBytes");
            long fp32Bytes = Long(totals, "fp32WeightBytes");
            long sumParams = layers.Sum(l => Params(l.Shape));
            if (layerCount != layers.Count || content != layers.Count(l => l.Group == "content") || quality != layers.Count(l => l.Group == "quality")
                || parameters != sumParams || weightBytes != layers.Sum(l => l.WeightBytes) || fp32Bytes != sumParams * 4)
                throw Invalid(totals, "'totals' do not match the layers");

            return new PlanModel(
                className, ns, input.Path, Hash(input.Text), version, Str(root, "compilerVersion"), Str(root, "inputHash"),
                Str(root, "modelFamily"), Str(root, "pipelineClass"), Str(artifact, "file"), floatDType,
                RequestedBits(settings, "requestedWeightBits"), RequestedBits(settings, "requestedActivationBits"), OptStr(settings, "method"), Positive(settings, "steps"),
                layerCount, content, quality, parameters, weightBytes, fp32Bytes, new EquatableArray<LayerModel>(layers),
                new EquatableArray<string>(lazy), Programs(root, layers));
        }

        private static LayerModel Layer(JsonNode l)
        {
            if (l.Kind != JsonKind.Object) throw Invalid(l, "a layer must be an object");
            string op = Str(l, "op");
            if (op != "linear" && op != "conv2d") throw Invalid(l.Get("op")!, $"op '{op}' must be 'linear' or 'conv2d'");
            var shapeNode = l.Get("weightShape") ?? throw Invalid(l, "missing 'weightShape'");
            if (shapeNode.Kind != JsonKind.Array) throw Invalid(shapeNode, "'weightShape' must be an array");
            var shape = new List<int>();
            foreach (var d in shapeNode.Items!)
            {
                if (d.Kind != JsonKind.Number || !int.TryParse(d.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0)
                    throw Invalid(d, "weightShape must hold positive integers");
                shape.Add(v);
            }
            int rank = op == "linear" ? 2 : 4;
            if (shape.Count != rank) throw Invalid(shapeNode, $"a {op} weight has rank {rank}, not {shape.Count}");
            string group = Str(l, "group");
            if (group != "content" && group != "quality") throw Invalid(l.Get("group")!, $"group '{group}' must be 'content' or 'quality'");
            int wBits = Bits(l, "weightBits", WeightBits);
            bool integer = MixDQ.Plans.PlanSchema.IsIntegerWeight(wBits);
            string? scheme = integer ? Str(l, "weightScheme") : null;
            if (scheme != null && scheme != MixDQ.Plans.PlanSchema.Symmetric && scheme != MixDQ.Plans.PlanSchema.Asymmetric)
                throw Invalid(l.Get("weightScheme")!, $"weightScheme '{scheme}' must be 'sym' or 'asym'");
            var input = l.Get("input");
            int inputQuantizers = input == null ? 0 : input.Kind == JsonKind.Array ? input.Items!.Count : throw Invalid(input, "'input' must be an array");
            var bos = l.Get("bos");
            var sensitivity = l.Get("sensitivity");
            if (sensitivity != null && sensitivity.Kind != JsonKind.Object) throw Invalid(sensitivity, "'sensitivity' must be an object");
            var layer = new LayerModel(Str(l, "component"), Str(l, "name"), op, new EquatableArray<int>(shape), wBits,
                Bits(l, "activationBits", ActivationBits), group, Long(l, "weightBytes"), scheme, inputQuantizers, bos != null && bos.Kind == JsonKind.True,
                sensitivity == null ? null : Str(sensitivity, "metric"),
                sensitivity == null ? null : OptDouble(sensitivity, "weight"), sensitivity == null ? null : OptDouble(sensitivity, "activation"));
            long expected = MixDQ.Plans.PlanSchema.WeightBytes(shape.ToArray(), wBits, scheme == MixDQ.Plans.PlanSchema.Asymmetric);
            if (layer.WeightBytes != expected) throw Invalid(l.Get("weightBytes")!, $"weightBytes {layer.WeightBytes} does not match the shape and bits ({expected})");
            return layer;
        }

        private static long Params(EquatableArray<int> shape)
        {
            long n = 1;
            foreach (int d in shape) n *= d;
            return n;
        }

        /// <summary>The plan hash: SHA-256 of the plan file's UTF-8 bytes, as the compiler computes it.</summary>
        internal static string Hash(string text)
        {
            using var sha = SHA256.Create();
            byte[] hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
            var sb = new StringBuilder("sha256:", 71);
            foreach (byte b in hash) sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        internal static bool IsIdentifier(string name) =>
            SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None
            && SyntaxFacts.GetContextualKeywordKind(name) is not (SyntaxKind.RecordKeyword or SyntaxKind.VarKeyword);

        private static PlanError Invalid(JsonNode at, string message) =>
            new PlanError(Diagnostics.PlanInvalidId, "invalid plan: " + message, at.Start, at.End);

        private static JsonNode Get(JsonNode obj, string name) =>
            obj.Get(name) ?? throw Invalid(obj, $"missing '{name}'");

        private static string Str(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.String && v.Text!.Length > 0 ? v.Text : throw Invalid(v, $"'{name}' must be a non-empty string");
        }

        private static long Long(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.Number && long.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long r)
                ? r : throw Invalid(v, $"'{name}' must be a non-negative integer");
        }

        private static int Int(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.Number && int.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int r)
                ? r : throw Invalid(v, $"'{name}' must be a non-negative integer");
        }

        private static int Positive(JsonNode obj, string name)
        {
            int v = Int(obj, name);
            return v > 0 ? v : throw Invalid(obj.Get(name)!, $"'{name}' must be at least 1");
        }

        private static double RequestedBits(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.Number && double.TryParse(v.Text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double r)
                && r >= MixDQ.Plans.PlanSchema.MinRequestedBits && r <= MixDQ.Plans.PlanSchema.MaxRequestedBits
                ? r : throw Invalid(v, $"'{name}' must be a number from 2 to 32");
        }

        private static double? OptDouble(JsonNode obj, string name)
        {
            var v = obj.Get(name);
            if (v == null) return null;
            return v.Kind == JsonKind.Number && double.TryParse(v.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double r)
                ? r : throw Invalid(v, $"'{name}' must be a number");
        }

        private static string? OptStr(JsonNode obj, string name)
        {
            var v = obj.Get(name);
            if (v == null || v.Kind == JsonKind.Null) return null;
            return v.Kind == JsonKind.String ? v.Text : throw Invalid(v, $"'{name}' must be a string");
        }

        private static int Bits(JsonNode obj, string name, int[] allowed)
        {
            int v = Int(obj, name);
            return Array.IndexOf(allowed, v) >= 0 ? v : throw Invalid(obj.Get(name)!, $"'{name}' is {v}; allowed: {string.Join(", ", allowed)}");
        }

        private static JsonNode Obj(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.Object ? v : throw Invalid(v, $"'{name}' must be an object");
        }

        private static List<JsonNode> Arr(JsonNode obj, string name)
        {
            var v = Get(obj, name);
            return v.Kind == JsonKind.Array ? v.Items! : throw Invalid(v, $"'{name}' must be an array");
        }
    }
}
