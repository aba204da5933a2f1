using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;

using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Plans;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// The plan: a versioned JSON document of pure data that the compiler writes and the source generator
/// reads. It names the model by the hash of its inputs and lists every quantizable layer with the
/// precision chosen for it. Files are <c>*.mixdq.plan.json</c>.
/// </summary>
public sealed record PlanDocument(
    int SchemaVersion,
    string CompilerVersion,
    string ClassName,
    string InputHash,
    string ModelFamily,
    string PipelineClass,
    PlanSettings Settings,
    PlanArtifact Artifact,
    IReadOnlyList<PlanComponent> Components,
    IReadOnlyList<PlanLayer> Layers,
    PlanTotals Totals)
{
    /// <summary>The traced forward pass of each network (optional: without them the runtime's model graphs run).</summary>
    public IReadOnlyList<ForwardProgram> Programs { get; init; } = [];

    /// <summary>The schema this compiler writes; readers refuse newer ones (MIXDQ061).</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The value of the top-level <c>"schema"</c> property.</summary>
    public const string SchemaName = "mixdq-plan";

    public const string FileSuffix = ".mixdq.plan.json";

    public bool Equals(PlanDocument? other) =>
        other is not null && SchemaVersion == other.SchemaVersion && CompilerVersion == other.CompilerVersion
        && ClassName == other.ClassName && InputHash == other.InputHash && ModelFamily == other.ModelFamily
        && PipelineClass == other.PipelineClass && Settings == other.Settings && Artifact == other.Artifact
        && Components.SequenceEqual(other.Components) && Layers.SequenceEqual(other.Layers) && Totals == other.Totals
        && Programs.Select(p => ProgramJson.Write(p, Compact)).SequenceEqual(other.Programs.Select(p => ProgramJson.Write(p, Compact)));

    public override int GetHashCode() => HashCode.Combine(InputHash, ClassName, Layers.Count);

    // ---------------------------------------------------------------- writing

    /// <summary>The document as UTF-8 JSON (LF line ends, one component and one layer per line, so diffs stay readable).</summary>
    public byte[] ToUtf8Json()
    {
        var top = new List<(string Name, string Json)>
        {
            ("schema", Compact(w => w.WriteStringValue(SchemaName))),
            ("schemaVersion", Compact(w => w.WriteNumberValue(SchemaVersion))),
            ("compilerVersion", Compact(w => w.WriteStringValue(CompilerVersion))),
            ("className", Compact(w => w.WriteStringValue(ClassName))),
            ("inputHash", Compact(w => w.WriteStringValue(InputHash))),
            ("modelFamily", Compact(w => w.WriteStringValue(ModelFamily))),
            ("pipelineClass", Compact(w => w.WriteStringValue(PipelineClass))),
            ("settings", Compact(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("requestedWeightBits", Settings.RequestedWeightBits);
                w.WriteNumber("requestedActivationBits", Settings.RequestedActivationBits);
                w.WriteNumber("steps", Settings.Steps);
                if (Settings.CalibrationPromptsHash is null) w.WriteNull("calibrationPromptsHash");
                else w.WriteString("calibrationPromptsHash", Settings.CalibrationPromptsHash);
                if (Settings.Method is not null) w.WriteString("method", Settings.Method);
                w.WriteEndObject();
            })),
            ("artifact", Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("file", Artifact.FileName);
                w.WriteString("floatDType", Artifact.FloatDType);
                w.WriteEndObject();
            })),
            ("totals", Compact(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("layerCount", Totals.LayerCount);
                w.WriteNumber("contentLayers", Totals.ContentLayers);
                w.WriteNumber("qualityLayers", Totals.QualityLayers);
                w.WriteNumber("parameters", Totals.Parameters);
                w.WriteNumber("weightBytes", Totals.WeightBytes);
                w.WriteNumber("fp32WeightBytes", Totals.Fp32WeightBytes);
                w.WriteEndObject();
            })),
            ("components", Lines(Components.Select(c => Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteString("class", c.ClassName);
                if (c.WeightsFile is null) w.WriteNull("weightsFile"); else w.WriteString("weightsFile", c.WeightsFile);
                w.WriteEndObject();
            })))),
            ("layers", Lines(Layers.Select(l => Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("component", l.Component);
                w.WriteString("name", l.Name);
                w.WriteString("op", OpName(l.Op));
                w.WriteStartArray("weightShape");
                foreach (int d in l.WeightShape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("weightBits", l.WeightBits);
                w.WriteNumber("activationBits", l.ActivationBits);
                w.WriteString("group", l.Group == LayerGroup.Content ? "content" : "quality");
                w.WriteNumber("weightBytes", l.WeightBytes);
                if (l.Quantization is { } q)
                {
                    w.WriteString("weightScheme", q.Asymmetric ? PlanSchema.Asymmetric : PlanSchema.Symmetric);
                    if (q.Input.Count > 0)
                    {
                        w.WriteStartArray("input");
                        foreach (var s in q.Input)
                        {
                            w.WriteStartObject();
                            w.WriteNumber("channels", s.Channels);
                            w.WriteNumber("scale", s.Scale);
                            w.WriteNumber("zeroPoint", s.ZeroPoint);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                    if (q.Bos) w.WriteBoolean("bos", true);
                }
                if (l.Sensitivity is { } sens)
                {
                    w.WriteStartObject("sensitivity");
                    w.WriteString("metric", sens.Metric);
                    if (sens.Weight is { } sw) w.WriteNumber("weight", sw);
                    if (sens.Activation is { } sa) w.WriteNumber("activation", sa);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            })))),
        };
        // The traced forward passes: optional (a plan without them runs the runtime's model graphs).
        if (Programs.Count > 0)
            top.Add(("programs", "[\n    " + string.Join(",\n    ", Programs.Select(p => ProgramJson.Write(p, Compact))) + "\n  ]"));
        var sb = new StringBuilder("{\n");
        for (int i = 0; i < top.Count; i++)
        {
            sb.Append("  ").Append(Compact(w => w.WriteStringValue(top[i].Name))).Append(": ").Append(top[i].Json);
            sb.Append(i + 1 < top.Count ? ",\n" : "\n");
        }
        sb.Append("}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>A JSON array with one compact element per line.</summary>
    private static string Lines(IEnumerable<string> elements)
    {
        var items = elements.ToList();
        return items.Count == 0 ? "[]" : "[\n    " + string.Join(",\n    ", items) + "\n  ]";
    }

    public string ToJson() => Encoding.UTF8.GetString(ToUtf8Json());

    /// <summary>Writes the plan atomically; returns the plan hash (<see cref="HashOf"/>) of the bytes written.</summary>
    public string Save(string path)
    {
        byte[] bytes = ToUtf8Json();
        AtomicFile.WriteAllBytes(path, bytes);
        return HashOf(bytes);
    }

    /// <summary>The plan hash: <c>sha256:</c> + lower-case hex of the SHA-256 of the plan file's bytes.</summary>
    public static string HashOf(ReadOnlySpan<byte> planBytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(planBytes));

    internal static string OpName(LayerKind kind) => kind switch
    {
        LayerKind.Linear => "linear",
        LayerKind.Conv2d => "conv2d",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string Compact(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) write(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    // ---------------------------------------------------------------- reading

    /// <summary>Reads and validates a plan file (MIXDQ060 invalid, MIXDQ061 newer schema, MIXDQ011 unreadable).</summary>
    public static PlanDocument Load(string path)
    {
        string json;
        try { json = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read plan: {e.Message}", path);
        }
        return Parse(json, path);
    }

    /// <summary>Parses and validates plan JSON; <paramref name="origin"/> names the file in errors.</summary>
    public static PlanDocument Parse(string json, string origin = "<plan>") => new PlanReader(origin).Read(json);
}
