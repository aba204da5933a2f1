using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MixDQ.Generators
{
    /// <summary>
    /// Writes the forward passes of a plan's programs as straight-line C#: one backend call per traced op, with
    /// its shape in a comment, layers and parameters bound to fields at load, and the inputs' shapes checked
    /// against the traced constants (other shapes return null and the pipeline runs its graph). Values live
    /// in a few reused locals, assigned by liveness, and each intermediate's storage goes back to the backend
    /// (<c>IComputeBackend.Release</c>) at its last use, so later outputs can reuse it instead of allocating.
    /// </summary>
    internal sealed class ProgramEmitter
    {
        private const string Rt = "global::MixDQ.Runtime";
        private const string TensorType = Rt + ".Tensors.Tensor";
        private readonly PlanModel _m;
        private readonly Dictionary<string, string> _layerFields = new Dictionary<string, string>(System.StringComparer.Ordinal);
        private readonly Dictionary<string, string> _parameterFields = new Dictionary<string, string>(System.StringComparer.Ordinal);
        private readonly HashSet<string> _used = new HashSet<string>(System.StringComparer.Ordinal);
        // One kernel specialization per distinct spec (op, weight shape, input shape, precision, stride, padding), in first-use order.
        private readonly List<KernelKey> _kernels = new List<KernelKey>();
        private readonly Dictionary<string, KernelKey> _kernelByKey = new Dictionary<string, KernelKey>(System.StringComparer.Ordinal);
        private readonly Dictionary<(string Component, int Result), KernelKey> _kernelOfOp = new Dictionary<(string, int), KernelKey>();

        private sealed class KernelKey
        {
            public string Key = "", Field = "", Spec = "";
            public int Calls;
        }

        private readonly Dictionary<string, LayerModel> _layers = new Dictionary<string, LayerModel>(System.StringComparer.Ordinal);

        public ProgramEmitter(PlanModel m)
        {
            _m = m;
            foreach (var l in m.Layers) _layers[l.QualifiedName] = l;
            foreach (var p in m.Programs)
            {
                foreach (var op in p.Ops)
                    if (op.Layer is not null && !_layerFields.ContainsKey(p.Component + "/" + op.Layer))
                        _layerFields.Add(p.Component + "/" + op.Layer, Unique("_w_" + p.Component + "/" + op.Layer));
                foreach (var t in p.Parameters)
                    if (!_parameterFields.ContainsKey(p.Component + "/" + t.Name))
                        _parameterFields.Add(p.Component + "/" + t.Name, Unique("_p_" + p.Component + "/" + t.Name));
                var shapes = new Dictionary<int, EquatableArray<int>>();
                foreach (var t in p.Inputs) shapes[t.Value] = t.Shape;
                foreach (var t in p.Parameters) shapes[t.Value] = t.Shape;
                foreach (var op in p.Ops)
                {
                    shapes[op.Result] = op.Shape;
                    if (op.Layer is null) continue;
                    var l = Layer(p.Component + "/" + op.Layer);
                    bool conv = op.Op == "conv2d";
                    var input = shapes[op.Args[0]];
                    string precision = l.WeightBits >= 16 && l.ActivationBits >= 16
                        ? "FP" + l.WeightBits.ToString(CultureInfo.InvariantCulture)
                        : "W" + l.WeightBits.ToString(CultureInfo.InvariantCulture) + "A" + l.ActivationBits.ToString(CultureInfo.InvariantCulture);
                    string key = $"{op.Op} w{ShapeText(l.Shape)} x{ShapeText(input)}" + (conv ? $" s{op.Attribute("stride")} p{op.Attribute("padding")}" : "") + " " + precision;
                    if (!_kernelByKey.TryGetValue(key, out var k))
                    {
                        k = new KernelKey
                        {
                            Key = key,
                            Field = Unique("_k" + _kernels.Count.ToString(CultureInfo.InvariantCulture)),
                            Spec = $"new {Rt}.Backends.KernelSpec({Rt}.Backends.LayerKind.{(conv ? "Conv2d" : "Linear")}, new int[] {{ {Join(l.Shape)} }}, " +
                                $"new int[] {{ {Join(input)} }}, new {Rt}.Backends.LayerPrecision({l.WeightBits}, {l.ActivationBits})" +
                                (conv ? $", {op.Attribute("stride")}, {op.Attribute("padding")})" : ")"),
                        };
                        _kernelByKey.Add(key, k);
                        _kernels.Add(k);
                    }
                    k.Calls++;
                    _kernelOfOp[(p.Component, op.Result)] = k;
                }
            }
        }

        public bool HasPrograms => _m.Programs.Count > 0;

        /// <summary>Fields: the backend, one per prepared layer and one per parameter the programs read.</summary>
        public void Fields(StringBuilder sb)
        {
            if (!HasPrograms) return;
            sb.AppendLine("        // Generated forward passes: the backend, the prepared layers and the parameters they call, bound at load.");
            sb.AppendLine($"        private readonly {Rt}.Backends.IComputeBackend _backend;");
            foreach (var kv in _layerFields)
                sb.AppendLine($"        private readonly {Rt}.Backends.{(Layer(kv.Key).Op == "linear" ? "IPreparedLinear" : "IPreparedConv2d")} {kv.Value};");
            foreach (var kv in _parameterFields)
                sb.AppendLine($"        private readonly {TensorType} {kv.Value};");
            sb.AppendLine("        // One kernel per distinct (op, weight shape, input shape, precision), specialized by the backend at load.");
            foreach (var k in _kernels)
                sb.AppendLine($"        private readonly {Rt}.Backends.IKernel {k.Field}; // {k.Key}, {k.Calls.ToString(CultureInfo.InvariantCulture)} call(s)");
            sb.AppendLine();
        }

        /// <summary>Constructor statements: bind every field by name (kind and shape checked) and hand the forward passes to the pipeline.</summary>
        public void Bind(StringBuilder sb)
        {
            if (!HasPrograms) return;
            sb.AppendLine("            _backend = pipeline.Backend;");
            foreach (var kv in _layerFields)
            {
                var l = Layer(kv.Key);
                string bind = l.Op == "linear" ? "BindLinear" : "BindConv2d";
                sb.AppendLine($"            {kv.Value} = {Rt}.Compiled.CompiledModelLoader.{bind}(pipeline, {Lit(kv.Key)}, new int[] {{ {Join(l.Shape)} }});");
            }
            foreach (var p in _m.Programs)
                foreach (var t in p.Parameters)
                {
                    string key = p.Component + "/" + t.Name;
                    sb.AppendLine($"            {_parameterFields[key]} = {Rt}.Compiled.CompiledModelLoader.BindParameter(pipeline, {Lit(key)}, new int[] {{ {Join(t.Shape)} }});");
                }
            foreach (var k in _kernels)
                sb.AppendLine($"            {k.Field} = _backend.Specialize({k.Spec});");
            foreach (var p in _m.Programs)
                sb.AppendLine($"            pipeline.UseCompiledForward({Lit(p.Component)}, {MethodName(p)});");
        }

        /// <summary>One method per program.</summary>
        public void Methods(StringBuilder sb)
        {
            foreach (var p in _m.Programs) Method(sb, p);
        }

        private void Method(StringBuilder sb, ProgramModel p)
        {
            var inputs = p.Inputs.ToDictionary(t => t.Value, t => "in_" + t.Name);
            var parameters = p.Parameters.ToDictionary(t => t.Value, t => _parameterFields[p.Component + "/" + t.Name]);
            string shape = string.Join(", ", p.Inputs.Select(t => t.Name + " " + ShapeText(t.Shape)).Concat(p.IntInputs.Select(i => $"{i.Name}[{i.Length}]")));
            sb.AppendLine($"        /// <summary>The {Xml(p.Component)} forward pass traced at build time ({Xml(shape)}): {p.Ops.Count} backend calls.</summary>");
            sb.AppendLine($"        private global::System.Collections.Generic.IReadOnlyDictionary<string, {TensorType}>? {MethodName(p)}({Rt}.Compiled.ProgramArguments arguments, global::System.Threading.CancellationToken ct)");
            sb.AppendLine("        {");
            sb.AppendLine("            var be = _backend;");
            foreach (var t in p.Inputs)
            {
                sb.AppendLine($"            var in_{t.Name} = arguments.Tensor({Lit(t.Name)});");
                sb.AppendLine($"            if (!{Rt}.Compiled.ProgramArguments.HasShape(in_{t.Name}, {Join(t.Shape)})) return null;");
            }
            foreach (var i in p.IntInputs)
            {
                sb.AppendLine($"            var ints_{i.Name} = arguments.Ints({Lit(i.Name)});");
                sb.AppendLine($"            if (!{Rt}.Compiled.ProgramArguments.HasLength(ints_{i.Name}, {i.Length})) return null;");
            }

            // Liveness: a value's local is free after its last use; outputs live to the end.
            var lastUse = new Dictionary<int, int>();
            for (int i = 0; i < p.Ops.Count; i++)
                foreach (int a in p.Ops[i].Args) lastUse[a] = i;
            foreach (var o in p.Outputs) lastUse[o.Value] = int.MaxValue;
            // Storage: a reshape is a view of its input, so storage lives until the last use of any of its views; it is
            // released (handed back to the backend for reuse) then, unless it is an input's or a parameter's, or an output's.
            var storageOf = new Dictionary<int, int>();
            int Storage(int v) => storageOf.TryGetValue(v, out int s) ? s : v;
            foreach (var op in p.Ops)
                if (op.Op == "reshape") storageOf[op.Result] = Storage(op.Args[0]);
            var storageEnd = new Dictionary<int, int>();
            foreach (var kv in lastUse)
            {
                int s = Storage(kv.Key);
                storageEnd[s] = storageEnd.TryGetValue(s, out int e) ? System.Math.Max(e, kv.Value) : kv.Value;
            }
            bool Owned(int storage) => !inputs.ContainsKey(storage) && !parameters.ContainsKey(storage);
            var slotOf = new Dictionary<int, int>();
            var free = new SortedSet<int>();
            int slots = 0;
            var body = new StringBuilder();
            for (int i = 0; i < p.Ops.Count; i++)
            {
                var op = p.Ops[i];
                string Local(int v) => inputs.TryGetValue(v, out var n) ? n! : parameters.TryGetValue(v, out var f) ? f! : "r" + slotOf[v].ToString(CultureInfo.InvariantCulture);
                string call = Call(p, op, k => Local(op.Args[k]));
                // The result takes a local that no argument of this op holds, so dead arguments can still be released after the call.
                int slot;
                if (free.Count > 0) { slot = free.Min; free.Remove(slot); }
                else slot = slots++;
                if (op.Op == "conv2d" || op.Op == "attention") body.AppendLine("            ct.ThrowIfCancellationRequested();");
                body.AppendLine($"            r{slot} = {call}; // %{op.Result} {ShapeText(op.Shape)}");
                var released = new HashSet<int>();
                foreach (int a in op.Args)
                {
                    int s = Storage(a);
                    if (Owned(s) && storageEnd[s] == i && released.Add(s)) body.AppendLine($"            be.Release({Local(a)});");
                }
                foreach (int a in op.Args.Distinct())
                    if (slotOf.TryGetValue(a, out int sa) && lastUse[a] == i) free.Add(sa);
                slotOf[op.Result] = slot;
                if (!lastUse.ContainsKey(op.Result))
                {
                    free.Add(slot); // never read: the local is free again at once
                    int s = Storage(op.Result);
                    if (Owned(s) && !storageEnd.ContainsKey(s)) body.AppendLine($"            be.Release(r{slot});");
                }
            }
            if (slots > 0)
                sb.AppendLine($"            {TensorType} " + string.Join(", ", Enumerable.Range(0, slots).Select(s => $"r{s} = null!")) + ";");
            sb.Append(body);
            sb.AppendLine($"            return new global::System.Collections.Generic.Dictionary<string, {TensorType}>");
            sb.AppendLine("            {");
            foreach (var o in p.Outputs)
            {
                string value = inputs.TryGetValue(o.Value, out var n) ? n! : parameters.TryGetValue(o.Value, out var f) ? f! : "r" + slotOf[o.Value].ToString(CultureInfo.InvariantCulture);
                sb.AppendLine($"                [{Lit(o.Name)}] = {value},");
            }
            sb.AppendLine("            };");
            sb.AppendLine("        }");
            sb.AppendLine();
        }

        private string Call(ProgramModel p, ProgramOpModel op, System.Func<int, string> a)
        {
            string A(string key) => op.Attribute(key);
            switch (op.Op)
            {
                case "linear": return $"be.Linear({_layerFields[p.Component + "/" + op.Layer]}, {a(0)}, {_kernelOfOp[(p.Component, op.Result)].Field})";
                case "conv2d": return $"be.Conv2d({_layerFields[p.Component + "/" + op.Layer]}, {a(0)}, {_kernelOfOp[(p.Component, op.Result)].Field})";
                case "group_norm": return $"be.GroupNorm({a(0)}, {A("groups")}, {a(1)}, {a(2)}, {A("eps")}, {A("silu")})";
                case "layer_norm": return $"be.LayerNorm({a(0)}, {a(1)}, {a(2)}, {A("eps")})";
                case "attention": return $"be.Attention({a(0)}, {a(1)}, {a(2)}, {A("heads")}, {A("causal")})";
                case "activate": return $"be.Activate({a(0)}, {A("activation")})";
                case "geglu": return $"be.Geglu({a(0)})";
                case "add": return $"be.Add({a(0)}, {a(1)})";
                case "add_channel_bias": return $"be.AddChannelBias({a(0)}, {a(1)})";
                case "affine": return $"be.Affine({a(0)}, {A("scale")}, {A("shift")})";
                case "upsample_nearest": return $"be.UpsampleNearest({a(0)}, {A("height")}, {A("width")})";
                case "concat": return $"be.Concat({a(0)}, {a(1)}, {A("axis")})";
                case "nchw_to_tokens": return $"be.NchwToTokens({a(0)})";
                case "tokens_to_nchw": return $"be.TokensToNchw({a(0)}, {A("height")}, {A("width")})";
                case "embedding": return $"be.Embedding({a(0)}, {A("ids")}, {A("batch")})";
                case "timestep_embedding": return $"be.TimestepEmbedding({a(0)}, {A("dim")}, {A("flip")}, {A("freqShift")})";
                case "reshape": return $"be.Reshape({a(0)}, {Join(op.Shape)})";
                default: throw new System.InvalidOperationException("unknown op " + op.Op); // the parser admits only the ops above
            }
        }

        /// <summary>
        /// The distinct (op, weight shape, input shape, precision) keys of the programs' linear and conv2d calls, with how
        /// many calls share each: one kernel specialization per key is what a shape-specializing backend compiles.
        /// </summary>
        public List<string> KernelKeys() => _kernels.Select(k => k.Key + " ×" + k.Calls.ToString(CultureInfo.InvariantCulture)).ToList();

        private LayerModel Layer(string qualifiedName) => _layers[qualifiedName];

        private static string MethodName(ProgramModel p) => "Forward_" + p.Component;

        private string Unique(string raw)
        {
            var sb = new StringBuilder();
            foreach (char ch in raw) sb.Append(char.IsLetterOrDigit(ch) && ch < 128 ? ch : '_');
            string name = sb.ToString(), candidate = name;
            for (int k = 2; !_used.Add(candidate); k++) candidate = name + "_" + k.ToString(CultureInfo.InvariantCulture);
            return candidate;
        }

        private static string Join(IEnumerable<int> values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

        private static string ShapeText(IEnumerable<int> shape) => "[" + Join(shape) + "]";

        private static string Lit(string s) => SourceEmitter.Lit(s);

        private static string Xml(string s) => SourceEmitter.Xml(s);
    }
}
