using System.Text.Json;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;

using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// Strict reader of plan JSON: every field is checked and a failure names the JSON path at fault
/// (<c>layers[3].weightBits</c>). The schema version is checked first so that a newer plan gets
/// MIXDQ061 ("update the SDK") rather than a confusing field error.
/// </summary>
internal sealed partial class PlanReader(string origin)
{
    private static readonly int[] WeightBitsAllowed = MixDQ.Plans.PlanSchema.WeightBits;
    private static readonly int[] ActivationBitsAllowed = MixDQ.Plans.PlanSchema.ActivationBits;

    public PlanDocument Read(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e)
        {
            throw Invalid($"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", "$");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("the plan must be a JSON object", "$");
            string schema = Str(root, "schema", "$");
            if (schema != PlanDocument.SchemaName) throw Invalid($"'schema' is '{schema}', expected '{PlanDocument.SchemaName}'", "schema");
            int version = Int(root, "schemaVersion", "$");
            if (version > PlanDocument.CurrentSchemaVersion)
                throw new MixDQException(ErrorCodes.PlanVersionUnsupported,
                    $"plan schema version {version} is newer than this SDK supports ({PlanDocument.CurrentSchemaVersion}); update the MixDQ.Sdk package or recompile the plan",
                    origin, "schemaVersion");
            if (version < 1) throw Invalid($"schemaVersion {version} is not valid", "schemaVersion");

            var settingsEl = Obj(root, "settings", "$");
            var settings = new PlanSettings(
                RequestedBits(settingsEl, "requestedWeightBits", "settings"),
                RequestedBits(settingsEl, "requestedActivationBits", "settings"),
                Positive(settingsEl, "steps", "settings"),
                OptStr(settingsEl, "calibrationPromptsHash", "settings")) { Method = OptStr(settingsEl, "method", "settings") };

            var artifactEl = Obj(root, "artifact", "$");
            string floatDType = Str(artifactEl, "floatDType", "artifact");
            if (floatDType is not ("F16" or "F32")) throw Invalid($"artifact.floatDType '{floatDType}' must be F16 or F32", "artifact.floatDType");
            var artifact = new PlanArtifact(Str(artifactEl, "file", "artifact"), floatDType);

            var components = Items(root, "components", "$")
                .Select(c => new PlanComponent(Str(c.Item, "name", c.At), Str(c.Item, "class", c.At), OptStr(c.Item, "weightsFile", c.At))).ToList();

            var layers = new List<PlanLayer>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (l, at) in Items(root, "layers", "$"))
            {
                var layer = ReadLayer(l, at);
                if (!names.Add(layer.QualifiedName)) throw Invalid($"layer '{layer.QualifiedName}' appears twice", at + ".name");
                if (!components.Any(c => c.Name == layer.Component))
                    throw Invalid($"layer names component '{layer.Component}', which is not in 'components'", at + ".component");
                layers.Add(layer);
            }

            var totalsEl = Obj(root, "totals", "$");
            var totals = new PlanTotals(Int(totalsEl, "layerCount", "totals"), Int(totalsEl, "contentLayers", "totals"),
                Int(totalsEl, "qualityLayers", "totals"), Long(totalsEl, "parameters", "totals"),
                Long(totalsEl, "weightBytes", "totals"), Long(totalsEl, "fp32WeightBytes", "totals"));
            var expected = PlanTotals.Of(layers);
            if (totals != expected) throw Invalid($"totals {totals} do not match the layers ({expected})", "totals");

            var programs = root.TryGetProperty("programs", out _)
                ? Items(root, "programs", "$").Select(p => ReadProgram(p.Item, p.At, names)).ToList()
                : [];

            return new PlanDocument(version, Str(root, "compilerVersion", "$"), Str(root, "className", "$"),
                Str(root, "inputHash", "$"), Str(root, "modelFamily", "$"), Str(root, "pipelineClass", "$"),
                settings, artifact, components, layers, totals) { Programs = programs };
        }
    }

    private PlanLayer ReadLayer(JsonElement l, string at)
    {
        if (l.ValueKind != JsonValueKind.Object) throw Invalid("a layer must be an object", at);
        string opText = Str(l, "op", at);
        LayerKind op = opText switch
        {
            "linear" => LayerKind.Linear,
            "conv2d" => LayerKind.Conv2d,
            _ => throw Invalid($"op '{opText}' must be 'linear' or 'conv2d'", at + ".op"),
        };
        var shape = new List<int>();
        foreach (var d in Arr(l, "weightShape", at))
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v <= 0)
                throw Invalid("weightShape must hold positive integers", at + ".weightShape");
            shape.Add(v);
        }
        int rank = op == LayerKind.Linear ? 2 : 4;
        if (shape.Count != rank) throw Invalid($"a {opText} weight has rank {rank}, not {shape.Count}", at + ".weightShape");
        string groupText = Str(l, "group", at);
        LayerGroup group = groupText switch
        {
            "content" => LayerGroup.Content,
            "quality" => LayerGroup.Quality,
            _ => throw Invalid($"group '{groupText}' must be 'content' or 'quality'", at + ".group"),
        };
        int weightBits = Bits(l, "weightBits", at, WeightBitsAllowed), activationBits = Bits(l, "activationBits", at, ActivationBitsAllowed);
        var layer = new PlanLayer(Str(l, "component", at), Str(l, "name", at), op, [.. shape], weightBits, activationBits, group)
        {
            Quantization = MixDQ.Plans.PlanSchema.IsIntegerWeight(weightBits) ? ReadQuantization(l, at, shape[1], activationBits) : null,
            Sensitivity = l.TryGetProperty("sensitivity", out var sens) ? ReadSensitivity(sens, at + ".sensitivity") : null,
        };
        if (!MixDQ.Plans.PlanSchema.IsIntegerWeight(weightBits) && activationBits < 16)
            throw Invalid($"integer activations ({activationBits} bits) need integer weights, not {weightBits}-bit", at + ".activationBits");
        long bytes = Long(l, "weightBytes", at);
        if (bytes != layer.WeightBytes) throw Invalid($"weightBytes {bytes} does not match the shape and bits ({layer.WeightBytes})", at + ".weightBytes");
        return layer;
    }

    private PlanQuantization ReadQuantization(JsonElement l, string at, int inChannels, int activationBits)
    {
        string scheme = Str(l, "weightScheme", at);
        if (scheme is not (MixDQ.Plans.PlanSchema.Symmetric or MixDQ.Plans.PlanSchema.Asymmetric))
            throw Invalid($"weightScheme '{scheme}' must be 'sym' or 'asym'", at + ".weightScheme");
        var input = new List<PlanInputQuant>();
        if (l.TryGetProperty("input", out _))
        {
            foreach (var (seg, segAt) in Items(l, "input", at))
            {
                var scale = Get(seg, "scale", segAt);
                if (scale.ValueKind != JsonValueKind.Number || !scale.TryGetSingle(out float s) || !float.IsFinite(s) || s <= 0)
                    throw Invalid("an input scale must be a finite number > 0", segAt + ".scale");
                int zp = Int(seg, "zeroPoint", segAt);
                if (zp > (1 << activationBits) - 1) throw Invalid($"zero point {zp} is outside the {activationBits}-bit codes", segAt + ".zeroPoint");
                input.Add(new PlanInputQuant(Positive(seg, "channels", segAt), s, zp));
            }
            if (input.Count is 0 or > 2) throw Invalid("an integer layer has one or two input quantizers", at + ".input");
            if (input.Sum(i => i.Channels) != inChannels) throw Invalid($"input quantizers cover {input.Sum(i => i.Channels)} channels, the layer has {inChannels}", at + ".input");
        }
        if ((input.Count > 0) != (activationBits < 16))
            throw Invalid(activationBits < 16 ? $"{activationBits}-bit activations need 'input' quantizers" : "'input' quantizers on a layer with float activations", at + ".input");
        bool bos = l.TryGetProperty("bos", out var b) && (b.ValueKind == JsonValueKind.True || (b.ValueKind == JsonValueKind.False ? false : throw Invalid("'bos' must be true or false", at + ".bos")));
        return new PlanQuantization(scheme == MixDQ.Plans.PlanSchema.Asymmetric, input, bos);
    }

    private PlanSensitivity ReadSensitivity(JsonElement s, string at)
    {
        string metric = Str(s, "metric", at);
        if (metric is not (MixDQ.Plans.PlanSchema.Ssim or MixDQ.Plans.PlanSchema.Sqnr)) throw Invalid($"metric '{metric}' must be 'ssim' or 'sqnr'", at + ".metric");
        double? Score(string name) => s.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble()) ? v.GetDouble() : throw Invalid($"'{name}' must be a finite number", Join(at, name))
            : null;
        return new PlanSensitivity(metric, Score("weight"), Score("activation"));
    }

    private double RequestedBits(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d >= MixDQ.Plans.PlanSchema.MinRequestedBits && d <= MixDQ.Plans.PlanSchema.MaxRequestedBits
            ? d
            : throw Invalid($"'{name}' must be a number from 2 to 32", Join(at, name));
    }

    private MixDQException Invalid(string message, string at) => new(ErrorCodes.PlanInvalid, "invalid plan: " + message, origin, at);

    private JsonElement Get(JsonElement obj, string name, string at)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v))
            throw Invalid($"missing '{name}'", Join(at, name));
        return v;
    }

    private static string Join(string at, string name) => at == "$" ? name : $"{at}.{name}";

    private string Str(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0
            ? v.GetString()!
            : throw Invalid($"'{name}' must be a non-empty string", Join(at, name));
    }

    private string? OptStr(JsonElement obj, string name, string at)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Invalid($"'{name}' must be a string or null", Join(at, name));
    }

    private int Int(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= 0
            ? i
            : throw Invalid($"'{name}' must be a non-negative integer", Join(at, name));
    }

    private long Long(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long i) && i >= 0
            ? i
            : throw Invalid($"'{name}' must be a non-negative integer", Join(at, name));
    }

    private int Positive(JsonElement obj, string name, string at)
    {
        int v = Int(obj, name, at);
        return v > 0 ? v : throw Invalid($"'{name}' must be at least 1", Join(at, name));
    }

    private int Bits(JsonElement obj, string name, string at, int[] allowed)
    {
        int v = Int(obj, name, at);
        return allowed.Contains(v) ? v : throw Invalid($"'{name}' is {v}; allowed: {string.Join(", ", allowed)}", Join(at, name));
    }

    private JsonElement Obj(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.Object ? v : throw Invalid($"'{name}' must be an object", Join(at, name));
    }

    private JsonElement.ArrayEnumerator Arr(JsonElement obj, string name, string at)
    {
        var v = Get(obj, name, at);
        return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw Invalid($"'{name}' must be an array", Join(at, name));
    }

    /// <summary>The items of an array field, each with its JSON path (<c>layers[3]</c>).</summary>
    private IEnumerable<(JsonElement Item, string At)> Items(JsonElement obj, string name, string at)
    {
        string path = Join(at, name);
        return Arr(obj, name, at).Select((item, i) => (item, $"{path}[{i}]"));
    }
}
