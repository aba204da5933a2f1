using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>Argument checks of the CPU backend: every failure is a <see cref="MixDQException"/> naming the op and tensor.</summary>
internal static class CpuChecks
{
    public static MixDQException Fail(string op, string item, string message)
        => new(ErrorCodes.InvalidArgument, $"{op}: {message}", item: $"{op}.{item}");

    public static void NotNull(string op, string item, object? value)
    {
        if (value is null) throw Fail(op, item, "is null");
    }

    public static void Rank(string op, string item, Tensor t, int rank)
    {
        NotNull(op, item, t);
        if (t.Rank != rank) throw Fail(op, item, $"expected rank {rank}, got {Tensor.FormatShape(t.Shape)}");
    }

    public static void MinRank(string op, string item, Tensor t, int rank)
    {
        NotNull(op, item, t);
        if (t.Rank < rank) throw Fail(op, item, $"expected rank ≥ {rank}, got {Tensor.FormatShape(t.Shape)}");
    }

    public static void Length(string op, string item, Tensor t, long length)
    {
        NotNull(op, item, t);
        if (t.Length != length) throw Fail(op, item, $"expected {length} elements, got {Tensor.FormatShape(t.Shape)}");
    }

    public static void Positive(string op, string item, int value)
    {
        if (value < 1) throw Fail(op, item, $"must be ≥ 1, got {value}");
    }

    public static void True(bool condition, string op, string item, string message)
    {
        if (!condition) throw Fail(op, item, message);
    }
}
