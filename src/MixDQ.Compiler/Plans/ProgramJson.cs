using System.Text.Json;
using MixDQ.Runtime.Compiled.Tracing;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// The <c>programs</c> section of a plan: each network's traced forward pass (<see cref="ForwardProgram"/>),
/// one op per line. Attributes are written as extra properties of the op object; floats as the shortest
/// text that round-trips a float.
/// </summary>
internal static class ProgramJson
{
    private static readonly HashSet<string> OpFields = new(StringComparer.Ordinal) { "op", "out", "args", "shape", "layer" };

    /// <summary>The known ops: the <see cref="Runtime.Backends.IComputeBackend"/> methods in snake case, with their attribute names.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Ops = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["linear"] = [], ["conv2d"] = ["stride", "padding"], ["group_norm"] = ["groups", "eps", "silu"], ["layer_norm"] = ["eps"],
        ["attention"] = ["heads", "causal"], ["activate"] = ["activation"], ["geglu"] = [], ["add"] = [],
        ["add_channel_bias"] = [], ["affine"] = ["scale", "shift"], ["upsample_nearest"] = ["height", "width"],
        ["concat"] = ["axis"], ["nchw_to_tokens"] = [], ["tokens_to_nchw"] = ["height", "width"],
        ["embedding"] = ["ids", "batch"], ["timestep_embedding"] = ["dim", "flip", "freqShift"], ["reshape"] = [],
    };

    public static string Write(ForwardProgram p, Func<Action<Utf8JsonWriter>, string> compact)
    {
        string Named(IEnumerable<ProgramTensor> tensors) => "[" + string.Join(",", tensors.Select(t => compact(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("value", t.Value);
            w.WriteString("name", t.Name);
            WriteInts(w, "shape", t.Shape);
            w.WriteEndObject();
        }))) + "]";
        var head = new List<string>
        {
            "\"component\": " + compact(w => w.WriteStringValue(p.Component)),
            "\"inputs\": " + Named(p.Inputs),
            "\"intInputs\": [" + string.Join(",", p.IntInputs.Select(i => compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", i.Name);
                w.WriteNumber("length", i.Length);
                w.WriteEndObject();
            }))) + "]",
            "\"outputs\": [" + string.Join(",", p.Outputs.Select(o => compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", o.Name);
                w.WriteNumber("value", o.Value);
                w.WriteEndObject();
            }))) + "]",
            "\"parameters\": [\n        " + string.Join(",\n        ", p.Parameters.Select(t => Named([t])[1..^1])) + "\n      ]",
        };
        var ops = p.Ops.Select(o => compact(w =>
        {
            w.WriteStartObject();
            w.WriteString("op", o.Op);
            w.WriteNumber("out", o.Result);
            WriteInts(w, "args", o.Args);
            WriteInts(w, "shape", o.Shape);
            if (o.Layer is not null) w.WriteString("layer", o.Layer);
            foreach (var (key, value) in o.Attributes)
            {
                switch (value)
                {
                    case int i: w.WriteNumber(key, i); break;
                    case float f: w.WriteNumber(key, f); break;
                    case bool b: w.WriteBoolean(key, b); break;
                    case string s: w.WriteString(key, s); break;
                    default: throw new InvalidOperationException($"attribute {key} of {o.Op} has unsupported type {value?.GetType()}");
                }
            }
            w.WriteEndObject();
        }));
        head.Add("\"ops\": [\n        " + string.Join(",\n        ", ops) + "\n      ]");
        return "{\n      " + string.Join(",\n      ", head) + "\n    }";
    }

    private static void WriteInts(Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    /// <summary>Reads and checks one program: known ops and attributes, values defined before use, layers of the plan.</summary>
    public static ForwardProgram Read(JsonElement e, string at, ISet<string> planLayers, Func<string, string, Exception> invalid)
    {
        if (e.ValueKind != JsonValueKind.Object) throw invalid("a program must be an object", at);
        string component = String(e, "component", at, invalid);
        var defined = new HashSet<int>();
        int Define(int id, string where) => defined.Add(id) ? id : throw invalid($"value {id} is defined twice", where);

        List<ProgramTensor> Tensors(string name)
        {
            var list = new List<ProgramTensor>();
            int i = 0;
            foreach (var t in Array(e, name, at, invalid))
            {
                string where = $"{at}.{name}[{i++}]";
                list.Add(new ProgramTensor(Define(Int(t, "value", where, invalid), where + ".value"), String(t, "name", where, invalid), Ints(t, "shape", where, invalid)));
            }
            return list;
        }

        var inputs = Tensors("inputs");
        var intInputs = new List<ProgramIntInput>();
        int k = 0;
        foreach (var t in Array(e, "intInputs", at, invalid))
        {
            string where = $"{at}.intInputs[{k++}]";
            intInputs.Add(new ProgramIntInput(String(t, "name", where, invalid), Int(t, "length", where, invalid)));
        }
        var parameters = Tensors("parameters");
        var ops = new List<ProgramOp>();
        int oi = 0;
        foreach (var o in Array(e, "ops", at, invalid))
        {
            string where = $"{at}.ops[{oi++}]";
            string op = String(o, "op", where, invalid);
            if (!Ops.TryGetValue(op, out var attributeNames)) throw invalid($"unknown op '{op}'", where + ".op");
            var args = Ints(o, "args", where, invalid);
            foreach (int a in args)
                if (!defined.Contains(a)) throw invalid($"argument {a} is not defined before it is used", where + ".args");
            string? layer = o.TryGetProperty("layer", out var l) ? l.GetString() : null;
            if ((op is "linear" or "conv2d") != (layer is not null)) throw invalid($"'{op}' {(layer is null ? "needs" : "takes no")} 'layer'", where);
            if (layer is not null && !planLayers.Contains(component + "/" + layer))
                throw invalid($"layer '{component}/{layer}' is not in 'layers'", where + ".layer");
            var attributes = new List<KeyValuePair<string, object>>();
            foreach (var prop in o.EnumerateObject())
            {
                if (OpFields.Contains(prop.Name)) continue;
                if (!attributeNames.Contains(prop.Name)) throw invalid($"'{op}' has no attribute '{prop.Name}'", where + "." + prop.Name);
                object value = prop.Value.ValueKind switch
                {
                    JsonValueKind.True or JsonValueKind.False => prop.Value.GetBoolean(),
                    JsonValueKind.String => prop.Value.GetString()!,
                    JsonValueKind.Number when prop.Value.TryGetInt32(out int i) && !prop.Value.GetRawText().Contains('.') && !prop.Value.GetRawText().Contains('E', StringComparison.OrdinalIgnoreCase) => i,
                    JsonValueKind.Number => prop.Value.GetSingle(),
                    _ => throw invalid($"attribute '{prop.Name}' must be a number, boolean or string", where + "." + prop.Name),
                };
                attributes.Add(new(prop.Name, value));
            }
            foreach (string name in attributeNames)
                if (!attributes.Any(a => a.Key == name)) throw invalid($"'{op}' needs attribute '{name}'", where);
            ops.Add(new ProgramOp(op, Define(Int(o, "out", where, invalid), where + ".out"), args, Ints(o, "shape", where, invalid), layer, attributes));
        }
        var outputs = new List<ProgramOutput>();
        int qi = 0;
        foreach (var t in Array(e, "outputs", at, invalid))
        {
            string where = $"{at}.outputs[{qi++}]";
            int value = Int(t, "value", where, invalid);
            if (!defined.Contains(value)) throw invalid($"output value {value} is not defined", where + ".value");
            outputs.Add(new ProgramOutput(String(t, "name", where, invalid), value));
        }
        return new ForwardProgram(component, inputs, intInputs, parameters, ops, outputs);
    }

    private static JsonElement Get(JsonElement o, string name, string at, Func<string, string, Exception> invalid) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) ? v : throw invalid($"missing '{name}'", at + "." + name);

    private static string String(JsonElement o, string name, string at, Func<string, string, Exception> invalid)
    {
        var v = Get(o, name, at, invalid);
        return v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0 ? v.GetString()! : throw invalid($"'{name}' must be a non-empty string", at + "." + name);
    }

    private static int Int(JsonElement o, string name, string at, Func<string, string, Exception> invalid)
    {
        var v = Get(o, name, at, invalid);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= 0 ? i : throw invalid($"'{name}' must be a non-negative integer", at + "." + name);
    }

    private static int[] Ints(JsonElement o, string name, string at, Func<string, string, Exception> invalid) =>
        Array(o, name, at, invalid).Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int v) && v >= 0
            ? v : throw invalid($"'{name}' must hold non-negative integers", at + "." + name)).ToArray();

    private static JsonElement.ArrayEnumerator Array(JsonElement o, string name, string at, Func<string, string, Exception> invalid)
    {
        var v = Get(o, name, at, invalid);
        return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw invalid($"'{name}' must be an array", at + "." + name);
    }
}
