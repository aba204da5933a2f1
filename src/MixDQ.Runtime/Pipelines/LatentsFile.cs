using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>Reads initial latents given by a user: a NumPy .npy file or a safetensors file with a tensor named <c>latents</c>.</summary>
public static class LatentsFile
{
    public const string SafetensorsName = "latents";

    public static Tensor Read(string path)
    {
        if (!File.Exists(path))
            throw new MixDQException(ErrorCodes.LatentsInvalid, "the latents file does not exist", path);
        Tensor t;
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            using var file = SafetensorsFile.Open(path);
            if (!file.TryGetInfo(SafetensorsName, out _))
                throw new MixDQException(ErrorCodes.LatentsInvalid, $"the safetensors file holds no tensor named '{SafetensorsName}'", path, SafetensorsName);
            t = file.ReadFloat32(SafetensorsName).Clone();
        }
        else
        {
            var array = Npy.Read(path);
            if (array.DType is not (DType.F32 or DType.F16))
                throw new MixDQException(ErrorCodes.LatentsInvalid, $"latents must be float32 or float16, got {array.DType}", path);
            t = array.ToFloat32();
        }
        if (t.Rank != 4 || t.Dim(0) != 1)
            throw new MixDQException(ErrorCodes.LatentsInvalid, $"latents must have shape [1, C, h, w], got {Tensor.FormatShape(t.Shape)}", path);
        foreach (float v in t.Data)
            if (!float.IsFinite(v))
                throw new MixDQException(ErrorCodes.LatentsInvalid, "latents contain NaN or Inf", path);
        return t;
    }
}
