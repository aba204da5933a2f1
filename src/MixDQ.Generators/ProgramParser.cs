using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis.CSharp;

namespace MixDQ.Generators
{
    /// <summary>
    /// The optional <c>programs</c> section of a plan: the traced forward passes. Every op, attribute and value
    /// reference is checked here (MIXDQ060 at the offending JSON value), so the emitter only writes code that
    /// compiles. Mirrors the compiler's ProgramJson reader.
    /// </summary>
    internal static partial class PlanParser
    {
        private static readonly Dictionary<string, string[]> OpAttributes = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["linear"] = new string[0], ["conv2d"] = new[] { "stride", "padding" }, ["group_norm"] = new[] { "groups", "eps", "silu" },
            ["layer_norm"] = new[] { "eps" }, ["attention"] = new[] { "heads", "causal" }, ["activate"] = new[] { "activation" },
            ["geglu"] = new string[0], ["add"] = new string[0], ["add_channel_bias"] = new string[0], ["affine"] = new[] { "scale", "shift" },
            ["upsample_nearest"] = new[] { "height", "width" }, ["concat"] = new[] { "axis" }, ["nchw_to_tokens"] = new string[0],
            ["tokens_to_nchw"] = new[] { "height", "width" }, ["embedding"] = new[] { "ids", "batch" },
            ["timestep_embedding"] = new[] { "dim", "flip", "freqShift" }, ["reshape"] = new string[0],
        };

        /// <summary>Number of tensor arguments each op takes.</summary>
        private static readonly Dictionary<string, int> OpArity = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["linear"] = 1, ["conv2d"] = 1, ["group_norm"] = 3, ["layer_norm"] = 3, ["attention"] = 3, ["activate"] = 1, ["geglu"] = 1,
            ["add"] = 2, ["add_channel_bias"] = 2, ["affine"] = 1, ["upsample_nearest"] = 1, ["concat"] = 2, ["nchw_to_tokens"] = 1,
            ["tokens_to_nchw"] = 1, ["embedding"] = 1, ["timestep_embedding"] = 1, ["reshape"] = 1,
        };

        private static readonly HashSet<string> Activations = new HashSet<string>(StringComparer.Ordinal)
        {
            "Identity", "Silu", "Gelu", "QuickGelu", "Relu", "Tanh",
        };

        private static readonly HashSet<string> KnownComponents = new HashSet<string>(StringComparer.Ordinal)
        {
            "unet", "vae", "text_encoder", "text_encoder_2",
        };

        private static EquatableArray<ProgramModel> Programs(JsonNode root, List<LayerModel> layers)
        {
            var node = root.Get("programs");
            if (node is null) return EquatableArray<ProgramModel>.Empty;
            if (node.Kind != JsonKind.Array) throw Invalid(node, "'programs' must be an array");
            var layerNames = new HashSet<string>(layers.Select(l => l.QualifiedName), StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var programs = new List<ProgramModel>();
            foreach (var p in node.Items!)
            {
                var program = Program(p, layerNames);
                if (!seen.Add(program.Component)) throw Invalid(p.Get("component")!, $"component '{program.Component}' has two programs");
                programs.Add(program);
            }
            return new EquatableArray<ProgramModel>(programs);
        }

        private static ProgramModel Program(JsonNode p, HashSet<string> layerNames)
        {
            if (p.Kind != JsonKind.Object) throw Invalid(p, "a program must be an object");
            string component = Str(p, "component");
            if (!KnownComponents.Contains(component))
                throw Invalid(p.Get("component")!, $"component '{component}' cannot run a generated forward pass (unet, vae, text_encoder, text_encoder_2)");
            var defined = new HashSet<int>();
            var names = new HashSet<string>(StringComparer.Ordinal);

            List<ProgramTensorModel> Tensors(string key, bool isInput)
            {
                var list = new List<ProgramTensorModel>();
                foreach (var t in Arr(p, key))
                {
                    int value = Int(t, "value");
                    if (!defined.Add(value)) throw Invalid(t.Get("value")!, $"value {value} is defined twice");
                    string name = Str(t, "name");
                    if (isInput && (!IsIdentifier(name) || !names.Add(name))) throw Invalid(t.Get("name")!, $"input name '{name}' must be a unique identifier");
                    list.Add(new ProgramTensorModel(value, name, new EquatableArray<int>(Ints(t, "shape"))));
                }
                return list;
            }

            var inputs = Tensors("inputs", isInput: true);
            var intInputs = new List<ProgramIntInputModel>();
            foreach (var t in Arr(p, "intInputs"))
            {
                string name = Str(t, "name");
                if (!IsIdentifier(name) || !names.Add(name)) throw Invalid(t.Get("name")!, $"input name '{name}' must be a unique identifier");
                intInputs.Add(new ProgramIntInputModel(name, Int(t, "length")));
            }
            var parameters = Tensors("parameters", isInput: false);
            var ops = new List<ProgramOpModel>();
            foreach (var o in Arr(p, "ops"))
                ops.Add(Op(o, component, defined, layerNames, intInputs));
            var outputs = new List<ProgramOutputModel>();
            foreach (var t in Arr(p, "outputs"))
            {
                int value = Int(t, "value");
                if (!defined.Contains(value)) throw Invalid(t.Get("value")!, $"output value {value} is not defined");
                outputs.Add(new ProgramOutputModel(Str(t, "name"), value));
            }
            if (outputs.Count == 0) throw Invalid(p, "a program needs at least one output");
            return new ProgramModel(component, new EquatableArray<ProgramTensorModel>(inputs), new EquatableArray<ProgramIntInputModel>(intInputs),
                new EquatableArray<ProgramTensorModel>(parameters), new EquatableArray<ProgramOpModel>(ops), new EquatableArray<ProgramOutputModel>(outputs));
        }

        private static ProgramOpModel Op(JsonNode o, string component, HashSet<int> defined, HashSet<string> layerNames, List<ProgramIntInputModel> intInputs)
        {
            if (o.Kind != JsonKind.Object) throw Invalid(o, "an op must be an object");
            string op = Str(o, "op");
            if (!OpAttributes.TryGetValue(op, out var attributeNames)) throw Invalid(o.Get("op")!, $"unknown op '{op}'");
            var args = Ints(o, "args");
            if (args.Count != OpArity[op]) throw Invalid(o.Get("args")!, $"'{op}' takes {OpArity[op]} arguments, not {args.Count}");
            foreach (int a in args)
                if (!defined.Contains(a)) throw Invalid(o.Get("args")!, $"argument {a} is not defined before it is used");
            var shape = Ints(o, "shape");
            string? layer = null;
            if (op == "linear" || op == "conv2d")
            {
                layer = Str(o, "layer");
                if (!layerNames.Contains(component + "/" + layer)) throw Invalid(o.Get("layer")!, $"layer '{component}/{layer}' is not in 'layers'");
            }
            var attributes = new List<ProgramAttributeModel>();
            foreach (string key in attributeNames)
            {
                var v = o.Get(key) ?? throw Invalid(o, $"'{op}' needs attribute '{key}'");
                attributes.Add(new ProgramAttributeModel(key, AttributeSource(op, key, v, intInputs)));
            }
            foreach (var prop in o.Properties!)
            {
                if (prop.Key is "op" or "out" or "args" or "shape" or "layer") continue;
                if (Array.IndexOf(attributeNames, prop.Key) < 0) throw Invalid(prop.Value, $"'{op}' has no attribute '{prop.Key}'");
            }
            int result = Int(o, "out");
            if (!defined.Add(result)) throw Invalid(o.Get("out")!, $"value {result} is defined twice");
            return new ProgramOpModel(op, result, new EquatableArray<int>(args), new EquatableArray<int>(shape), layer,
                new EquatableArray<ProgramAttributeModel>(attributes));
        }

        /// <summary>The attribute as C# source, by what the backend method takes there.</summary>
        private static string AttributeSource(string op, string key, JsonNode v, List<ProgramIntInputModel> intInputs)
        {
            switch (key)
            {
                case "eps":
                case "scale":
                case "shift":
                    if (v.Kind != JsonKind.Number || !float.TryParse(v.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) || float.IsInfinity(f) || float.IsNaN(f))
                        throw Invalid(v, $"'{key}' must be a finite number");
                    return f.ToString("R", CultureInfo.InvariantCulture) + "f";
                case "silu":
                case "causal":
                case "flip":
                    if (v.Kind != JsonKind.True && v.Kind != JsonKind.False) throw Invalid(v, $"'{key}' must be true or false");
                    return v.Kind == JsonKind.True ? "true" : "false";
                case "activation":
                    if (v.Kind != JsonKind.String || !Activations.Contains(v.Text!)) throw Invalid(v, $"activation must be one of {string.Join(", ", Activations)}");
                    return "global::MixDQ.Runtime.Backends.Activation." + v.Text;
                case "ids":
                    if (v.Kind != JsonKind.String || !intInputs.Any(i => i.Name == v.Text)) throw Invalid(v, "'ids' must name an entry of 'intInputs'");
                    return "ints_" + v.Text;
                case "axis":
                    if (v.Kind == JsonKind.Number && int.TryParse(v.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int axis))
                        return axis.ToString(CultureInfo.InvariantCulture);
                    throw Invalid(v, "'axis' must be an integer");
                default:
                    if (v.Kind == JsonKind.Number && int.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                        return n.ToString(CultureInfo.InvariantCulture);
                    throw Invalid(v, $"'{key}' of '{op}' must be a non-negative integer");
            }
        }

        private static List<int> Ints(JsonNode obj, string name)
        {
            var list = new List<int>();
            foreach (var d in Arr(obj, name))
            {
                if (d.Kind != JsonKind.Number || !int.TryParse(d.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
                    throw Invalid(d, $"'{name}' must hold non-negative integers");
                list.Add(v);
            }
            return list;
        }
    }
}
