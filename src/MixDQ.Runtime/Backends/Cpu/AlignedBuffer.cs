using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Float storage on the pinned object heap whose first element sits on a 64-byte boundary, so that
/// packed panels are read with aligned, cache-line-sized loads and raw pointers into it stay valid
/// for the buffer's lifetime without <c>fixed</c>. The GC still owns and frees it.
/// </summary>
internal sealed unsafe class AlignedBuffer
{
    private const int AlignmentFloats = 16;

    private readonly float[] _array;
    private readonly int _offset;

    /// <param name="length">Floats.</param>
    /// <param name="zeroed">False leaves the contents unspecified (for a buffer whose every element is written before it is read): no clearing pass.</param>
    public AlignedBuffer(int length, bool zeroed = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = zeroed
            ? GC.AllocateArray<float>(length + AlignmentFloats, pinned: true)
            : GC.AllocateUninitializedArray<float>(length + AlignmentFloats, pinned: true);
        nuint address = (nuint)Unsafe.AsPointer(ref _array[0]);
        _offset = (int)((64 - (address & 63)) & 63) / sizeof(float);
        Length = length;
    }

    public int Length { get; }

    /// <summary>The first element; stable because the array is pinned.</summary>
    public float* Pointer => (float*)Unsafe.AsPointer(ref _array[_offset]);

    public Span<float> Span => _array.AsSpan(_offset, Length);
}

/// <summary>
/// Per-thread scratch buffers for packing and tiles. Kernels run on pool threads that live for the
/// process, so reusing one growing buffer per slot avoids an allocation per task.
/// </summary>
internal static unsafe class ThreadScratch
{
    public const int PackSlot = 0;
    public const int TileSlot = 1;
    public const int AuxSlot = 2;
    private const int SlotCount = 3;

    [ThreadStatic]
    private static AlignedBuffer?[]? t_slots;

    /// <summary>At least <paramref name="length"/> floats, 64-byte aligned, contents unspecified.</summary>
    public static float* Get(int slot, int length)
    {
        var slots = t_slots ??= new AlignedBuffer?[SlotCount];
        var buffer = slots[slot];
        if (buffer is null || buffer.Length < length)
        {
            // Grow geometrically so that a run of slightly larger shapes does not reallocate every time.
            int size = Math.Max(length, buffer is null ? 0 : (int)Math.Min(int.MaxValue - 64L, buffer.Length * 3L / 2));
            buffer = new AlignedBuffer(size);
            slots[slot] = buffer;
        }
        return buffer.Pointer;
    }
}
