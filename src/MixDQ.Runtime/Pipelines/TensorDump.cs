using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>Writes intermediate tensors of a generation as .npy files, for cross-implementation checks.</summary>
internal sealed class TensorDump
{
    private readonly string _dir;

    public TensorDump(string directory)
    {
        try { Directory.CreateDirectory(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new MixDQException(ErrorCodes.OutputNotWritable, $"cannot create the dump folder: {e.Message}", directory);
        }
        _dir = directory;
    }

    public void Write(string name, Tensor t) => Npy.WriteFloat32(Path.Combine(_dir, name + ".npy"), t);

    public void WriteBytes(string name, byte[] data, params int[] shape) => Npy.WriteUInt8(Path.Combine(_dir, name + ".npy"), data, shape);
}
