using System.Text.Json;
using MixDQ.Runtime.Compiled.Tracing;

namespace MixDQ.Compiler.Plans;

internal sealed partial class PlanReader
{
    /// <summary>Reads and checks one program (<see cref="ProgramJson"/>): known ops and attributes, values defined before use, layers of the plan.</summary>
    private ForwardProgram ReadProgram(JsonElement e, string at, ISet<string> planLayers)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Invalid("a program must be an object", at);
        string component = Str(e, "component", at);
        var defined = new HashSet<int>();
        int Define(int id, string where) => defined.Add(id) ? id : throw Invalid($"value {id} is defined twice", where);

        List<ProgramTensor> Tensors(string name) =>
            Items(e, name, at).Select(t => new ProgramTensor(Define(Int(t.Item, "value", t.At), t.At + ".value"), Str(t.Item, "name", t.At), Ints(t.Item, "shape", t.At))).ToList();

        var inputs = Tensors("inputs");
        var intInputs = Items(e, "intInputs", at).Select(t => new ProgramIntInput(Str(t.Item, "name", t.At), Int(t.Item, "length", t.At))).ToList();
        var parameters = Tensors("parameters");
        var ops = new List<ProgramOp>();
        foreach (var (o, where) in Items(e, "ops", at))
        {
            string op = Str(o, "op", where);
            if (!ProgramJson.Ops.TryGetValue(op, out var attributeNames)) throw Invalid($"unknown op '{op}'", where + ".op");
            var args = Ints(o, "args", where);
            foreach (int a in args)
                if (!defined.Contains(a)) throw Invalid($"argument {a} is not defined before it is used", where + ".args");
            string? layer = o.TryGetProperty("layer", out var l) ? l.GetString() : null;
            if ((op is "linear" or "conv2d") != (layer is not null)) throw Invalid($"'{op}' {(layer is null ? "needs" : "takes no")} 'layer'", where);
            if (layer is not null && !planLayers.Contains(component + "/" + layer))
                throw Invalid($"layer '{component}/{layer}' is not in 'layers'", where + ".layer");
            var attributes = new List<KeyValuePair<string, object>>();
            foreach (var prop in o.EnumerateObject())
            {
                if (ProgramJson.OpFields.Contains(prop.Name)) continue;
                if (!attributeNames.Contains(prop.Name)) throw Invalid($"'{op}' has no attribute '{prop.Name}'", where + "." + prop.Name);
                attributes.Add(new(prop.Name, Attribute(prop, where)));
            }
            foreach (string name in attributeNames)
                if (!attributes.Any(a => a.Key == name)) throw Invalid($"'{op}' needs attribute '{name}'", where);
            ops.Add(new ProgramOp(op, Define(Int(o, "out", where), where + ".out"), args, Ints(o, "shape", where), layer, attributes));
        }
        var outputs = new List<ProgramOutput>();
        foreach (var (t, where) in Items(e, "outputs", at))
        {
            int value = Int(t, "value", where);
            if (!defined.Contains(value)) throw Invalid($"output value {value} is not defined", where + ".value");
            outputs.Add(new ProgramOutput(Str(t, "name", where), value));
        }
        return new ForwardProgram(component, inputs, intInputs, parameters, ops, outputs);
    }

    /// <summary>An attribute value: a boolean, a string, an int (a number written without a fraction or exponent) or a float.</summary>
    private object Attribute(JsonProperty prop, string where)
    {
        var v = prop.Value;
        string raw = v.GetRawText();
        return v.ValueKind switch
        {
            JsonValueKind.True or JsonValueKind.False => v.GetBoolean(),
            JsonValueKind.String => v.GetString()!,
            JsonValueKind.Number when v.TryGetInt32(out int i) && !raw.Contains('.') && !raw.Contains('E', StringComparison.OrdinalIgnoreCase) => i,
            JsonValueKind.Number => v.GetSingle(),
            _ => throw Invalid($"attribute '{prop.Name}' must be a number, boolean or string", where + "." + prop.Name),
        };
    }

    private int[] Ints(JsonElement obj, string name, string at) =>
        Arr(obj, name, at).Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int v) && v >= 0
            ? v : throw Invalid($"'{name}' must hold non-negative integers", Join(at, name))).ToArray();
}
