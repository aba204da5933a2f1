using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// A tensor source backed by files (one safetensors file or several shards): it holds open file
/// mappings, so dispose it, and it gives the stored bytes as they are (e.g. F16 kept as F16).
/// </summary>
public interface ITensorFile : ITensorSource, IDisposable
{
    /// <summary>The string map stored with the tensors (safetensors <c>__metadata__</c>); empty when none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// The stored little-endian bytes of a tensor, without a copy. The span points into the file
    /// mapping: it is valid only until this source is disposed.
    /// </summary>
    ReadOnlySpan<byte> GetRawBytes(string name);

    /// <summary>Converts a tensor to FP32 into <paramref name="destination"/> (its length must be the element count).</summary>
    void ReadFloat32(string name, Span<float> destination);

    /// <summary>
    /// Converts the elements <paramref name="start"/> to <paramref name="start"/> + length of a tensor (flat, row-major) to
    /// FP32 into <paramref name="destination"/>, as the whole-tensor read converts them. Reads may run concurrently.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range runs outside the tensor.</exception>
    void ReadFloat32(string name, long start, Span<float> destination);

    /// <summary>The tensor as FP32, or null when there is no tensor of that name.</summary>
    Tensor? TryReadFloat32(string name);
}

/// <summary>Checks of element ranges within a tensor.</summary>
internal static class TensorRanges
{
    public static void Check(string name, long elementCount, long start, int length)
    {
        if (start < 0 || start > elementCount - length)
            throw new ArgumentOutOfRangeException(nameof(start), $"elements {start}..{start + length} are outside tensor '{name}' of {elementCount} elements");
    }
}
