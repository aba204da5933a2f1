using System.Text.Json;
using MixDQ.Runtime.Compiled.Tracing;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// The <c>programs</c> section of a plan: each network's traced forward pass (<see cref="ForwardProgram"/>),
/// one op per line. Attributes are written as extra properties of the op object; floats as the shortest
/// text that round-trips a float. <see cref="PlanReader"/> reads it back.
/// </summary>
internal static class ProgramJson
{
    /// <summary>The fixed properties of an op object; every other property is an attribute.</summary>
    internal static readonly HashSet<string> OpFields = new(StringComparer.Ordinal) { "op", "out", "args", "shape", "layer" };

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
}
