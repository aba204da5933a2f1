using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Analysis.Simulation;

/// <summary>
/// Reads the integer layers of a compiled plan back from its artifact (the tensors PLAN-FORMAT.md lists), so a
/// <see cref="SimulatedQuantBackend"/> can replay them: what the quality table runs until the runtime loads integer
/// layers itself. Every tensor is checked against the plan (MIXDQ062 names the tensor at fault).
/// </summary>
public static class PlanSimulation
{
    public static IReadOnlyDictionary<string, QuantizedLayer> ReadIntegerLayers(string planPath)
    {
        var plan = PlanDocument.Load(planPath);
        string artifactPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(planPath))!, plan.Artifact.FileName);
        using var artifact = SafetensorsFile.Open(artifactPath);
        var result = new Dictionary<string, QuantizedLayer>(StringComparer.Ordinal);
        foreach (var layer in plan.Layers.Where(l => l.Quantization is not null))
            result[layer.QualifiedName] = Read(artifact, artifactPath, layer);
        return result;
    }

    private static QuantizedLayer Read(SafetensorsFile artifact, string path, PlanLayer layer)
    {
        string p = layer.QualifiedName;
        var q = layer.Quantization!;
        int rows = layer.WeightShape[0], rowLength = (int)(layer.Parameters / rows);
        byte[] packed = Bytes(artifact, path, p + ".weight.packed", DType.U8, rows, IntegerFormat.RowBytes(rowLength, layer.WeightBits));
        float[] scales = Floats(artifact, path, p + ".weight.scale", rows);
        byte[]? zeroPoints = q.Asymmetric ? Bytes(artifact, path, p + ".weight.zero_point", DType.U8, rows) : null;
        var weight = new QuantizedWeight(rows, rowLength, layer.WeightBits, q.Asymmetric ? WeightScheme.Asymmetric : WeightScheme.Symmetric, packed, scales, zeroPoints, p);
        float[]? bos = q.Bos ? Floats(artifact, path, p + ".bos", rows) : null;
        List<InputQuantSegment>? input = null;
        if (q.Input.Count > 0)
        {
            float[] rowsOf3 = Floats(artifact, path, p + ".input_quant", q.Input.Count, 3);
            input = [];
            for (int i = 0; i < q.Input.Count; i++)
            {
                var s = new InputQuantSegment((int)rowsOf3[3 * i], new ActivationQuantParams(layer.ActivationBits, rowsOf3[3 * i + 1], (int)rowsOf3[3 * i + 2]));
                if (s.Channels != q.Input[i].Channels || s.Params.Scale != q.Input[i].Scale || s.Params.ZeroPoint != q.Input[i].ZeroPoint)
                    throw new MixDQException(ErrorCodes.ArtifactInvalid, $"input quantizer {i} differs between the plan and the artifact", path, p + ".input_quant");
                input.Add(s);
            }
        }
        return new QuantizedLayer(weight, input, bos, p);
    }

    private static byte[] Bytes(SafetensorsFile f, string path, string name, DType dtype, params int[] shape)
    {
        Check(f, path, name, dtype, shape);
        return f.GetRawBytes(name).ToArray();
    }

    private static float[] Floats(SafetensorsFile f, string path, string name, params int[] shape)
    {
        Check(f, path, name, DType.F32, shape);
        return f.ReadFloat32(name).Data;
    }

    private static void Check(SafetensorsFile f, string path, string name, DType dtype, int[] shape)
    {
        if (!f.TryGetInfo(name, out var info))
            throw new MixDQException(ErrorCodes.ArtifactInvalid, "the artifact lacks a tensor of an integer layer", path, name);
        if (info.DType != dtype || !info.Shape.SequenceEqual(shape))
            throw new MixDQException(ErrorCodes.ArtifactInvalid,
                $"expected {dtype} {Tensor.FormatShape(shape)}, found {info.DType} {Tensor.FormatShape(info.Shape)}", path, name);
    }
}
