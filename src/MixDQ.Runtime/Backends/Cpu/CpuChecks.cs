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

    /// <summary>The contract's attention arguments (q [B, Lq, H·D], k and v [B, Lk, H·D]), checked once for every backend.</summary>
    public static (int Batch, int QueryLength, int KeyLength, int Channels) Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        const string op = "Attention";
        Rank(op, nameof(q), q, 3);
        Rank(op, nameof(k), k, 3);
        Rank(op, nameof(v), v, 3);
        Positive(op, nameof(heads), heads);
        int b = q.Dim(0), lq = q.Dim(1), lk = k.Dim(1), hd = q.Dim(2);
        True(k.SameShape(v), op, nameof(v), $"k {Tensor.FormatShape(k.Shape)} and v {Tensor.FormatShape(v.Shape)} differ");
        True(k.Dim(0) == b && k.Dim(2) == hd, op, nameof(k), $"q {Tensor.FormatShape(q.Shape)} and k {Tensor.FormatShape(k.Shape)} disagree on batch or channels");
        True(hd % heads == 0 && hd > 0, op, nameof(heads), $"{hd} channels do not split into {heads} heads");
        Positive(op, "k.Dim(1)", lk);
        return (b, lq, lk, hd);
    }

    /// <summary>The contract's concat arguments, checked once for every backend; returns the non-negative axis.</summary>
    public static int Concat(Tensor a, Tensor b, int axis)
    {
        const string op = "Concat";
        MinRank(op, nameof(a), a, 1);
        Rank(op, nameof(b), b, a.Rank);
        int ax = axis < 0 ? axis + a.Rank : axis;
        True(ax >= 0 && ax < a.Rank, op, nameof(axis), $"axis {axis} is outside rank {a.Rank}");
        for (int i = 0; i < a.Rank; i++)
            True(i == ax || a.Dim(i) == b.Dim(i), op, nameof(b), $"{Tensor.FormatShape(a.Shape)} and {Tensor.FormatShape(b.Shape)} differ outside axis {ax}");
        return ax;
    }
}
