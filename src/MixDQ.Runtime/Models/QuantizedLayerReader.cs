using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// Reads an integer layer from its artifact tensors (PLAN-FORMAT.md, "Integer layers"): <c>P.weight.packed</c> (U8
/// [out, rowBytes]), <c>P.weight.scale</c> (F32 [out]), <c>P.weight.zero_point</c> (U8 [out], asymmetric weights),
/// <c>P.bos</c> (F32 [out]) and <c>P.input_quant</c> (F32 [segments, 3] rows (channels, scale, zeroPoint)). Every
/// disagreement with the layer's plan precision and shape is a MIXDQ090 (or MIXDQ068 when the artifact and the plan
/// disagree on whether the layer is integer at all) naming the file and the tensor.
/// </summary>
internal static class QuantizedLayerReader
{
    public const string PackedSuffix = ".weight.packed";
    public const string ScaleSuffix = ".weight.scale";
    public const string ZeroPointSuffix = ".weight.zero_point";
    public const string BosSuffix = ".bos";
    public const string InputQuantSuffix = ".input_quant";

    /// <summary>Tensors that may accompany <c>P.weight.packed</c> in place of <c>P.weight</c>.</summary>
    public static readonly string[] CompanionSuffixes = [PackedSuffix, ScaleSuffix, ZeroPointSuffix, BosSuffix, InputQuantSuffix];

    /// <summary>True when the plan runs <paramref name="layer"/> with integer weights.</summary>
    public static bool IsInteger(LayerInfo layer) => !layer.Precision.IsFloat;

    /// <summary>True when <paramref name="source"/> holds layer <paramref name="path"/> as packed integer codes.</summary>
    public static bool HasPacked(ITensorSource source, string path) => source.TryGetInfo(path + PackedSuffix, out _);

    /// <summary>Refuses a float-precision layer whose weight the artifact stores packed (or the reverse), naming the layer.</summary>
    public static void CheckStoredForm(ITensorSource source, string path, LayerInfo layer)
    {
        bool packed = HasPacked(source, path);
        if (packed == IsInteger(layer)) return;
        throw new MixDQException(ErrorCodes.ArtifactPlanMismatch, packed
            ? $"the artifact stores {path} as packed integer codes but the plan runs it in {layer.Precision}"
            : $"the plan runs {path} in {layer.Precision} but the artifact has no {path}{PackedSuffix}", source.Origin, path + (packed ? PackedSuffix : ".weight"));
    }

    /// <summary>The layer's stored integer form, checked against <paramref name="layer"/> (rows, depth, bits, input channels).</summary>
    public static QuantizedLayer Read(ITensorSource source, string path, LayerInfo layer, int inChannels)
    {
        CheckStoredForm(source, path, layer);
        int rows = layer.WeightShape[0], depth = (int)(layer.ParameterCount / rows), bits = layer.Precision.WeightBits;
        if (!IntegerFormat.IsWeightWidth(bits))
            throw Invalid(source, path + PackedSuffix, $"the plan gives {path} {layer.Precision}; weights are stored in 2, 4 or 8 bits");
        int rowBytes = IntegerFormat.RowBytes(depth, bits);
        var packed = ReadBytes(source, path + PackedSuffix, [rows, rowBytes]);
        var scales = ReadFloats(source, path + ScaleSuffix, [rows]);
        byte[]? zeroPoints = source.TryGetInfo(path + ZeroPointSuffix, out _) ? ReadBytes(source, path + ZeroPointSuffix, [rows]) : null;
        float[]? bos = source.TryGetInfo(path + BosSuffix, out _) ? ReadFloats(source, path + BosSuffix, [rows]) : null;
        var input = ReadInputQuant(source, path, layer);
        var weight = new QuantizedWeight(rows, depth, bits, zeroPoints is null ? WeightScheme.Symmetric : WeightScheme.Asymmetric,
            packed, scales, zeroPoints, item: $"{source.Origin}: {path}");
        var q = new QuantizedLayer(weight, input, bos, item: $"{source.Origin}: {path}");
        q.CheckInputChannels(inChannels, $"{source.Origin}: {path}{InputQuantSuffix}");
        return q;
    }

    private static List<InputQuantSegment>? ReadInputQuant(ITensorSource source, string path, LayerInfo layer)
    {
        string name = path + InputQuantSuffix;
        bool present = source.TryGetInfo(name, out var info);
        if (IntegerPrecisions.IsWeightOnly(layer.Precision))
        {
            if (present) throw Invalid(source, name, $"{layer.Precision} keeps activations in floating point but {name} exists");
            return null;
        }
        if (!present) throw Invalid(source, name, $"{layer.Precision} quantizes activations but {name} is missing");
        if (info.Shape.Length != 2 || info.Shape[1] != 3 || info.Shape[0] is < 1 or > 2)
            throw Invalid(source, name, $"expected [1 or 2 segments, 3], found {Tensor.FormatShape(info.Shape)}");
        var t = source.ReadFloat32(name);
        var segments = new List<InputQuantSegment>();
        for (int s = 0; s < info.Shape[0]; s++)
        {
            float channels = t.Data[3 * s], scale = t.Data[3 * s + 1], zp = t.Data[3 * s + 2];
            if (!(channels >= 1 && channels == MathF.Floor(channels) && zp == MathF.Floor(zp)))
                throw Invalid(source, name, $"segment {s} ({channels}, {scale}, {zp}) needs whole channels ≥ 1 and a whole zero point");
            try
            {
                segments.Add(new InputQuantSegment((int)channels, new ActivationQuantParams(layer.Precision.ActivationBits, scale, (int)zp)));
            }
            catch (MixDQException e)
            {
                throw Invalid(source, name, $"segment {s}: {e.Message}");
            }
        }
        return segments;
    }

    /// <summary>A U8 tensor's bytes (a float tensor of whole values 0..255 is accepted, as in-memory sources store everything as F32).</summary>
    private static byte[] ReadBytes(ITensorSource source, string name, int[] shape)
    {
        if (!source.TryGetInfo(name, out var info))
            throw Invalid(source, name, $"{name} is missing");
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw Invalid(source, name, $"expected {Tensor.FormatShape(shape)}, found {Tensor.FormatShape(info.Shape)}");
        if (info.DType == DType.U8 && source is ITensorFile file) return file.GetRawBytes(name).ToArray();
        if (info.DType is not (DType.U8 or DType.F32 or DType.F16 or DType.BF16 or DType.F64))
            throw Invalid(source, name, $"expected U8 codes, found {info.DType}");
        var values = source.ReadFloat32(name).Data;
        var bytes = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!(v >= 0 && v <= 255 && v == MathF.Floor(v)))
                throw Invalid(source, name, $"element {i} is {v}, not a byte");
            bytes[i] = (byte)v;
        }
        return bytes;
    }

    private static float[] ReadFloats(ITensorSource source, string name, int[] shape)
    {
        if (!source.TryGetInfo(name, out var info))
            throw Invalid(source, name, $"{name} is missing");
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw Invalid(source, name, $"expected {Tensor.FormatShape(shape)}, found {Tensor.FormatShape(info.Shape)}");
        return source.ReadFloat32(name).Data;
    }

    private static MixDQException Invalid(ITensorSource source, string name, string message) =>
        new(ErrorCodes.QuantizedWeightsInvalid, message, source.Origin, name);
}
