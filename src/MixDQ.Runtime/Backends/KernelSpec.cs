using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends;

/// <summary>
/// A linear or conv2d call site as the build knows it: op, weight shape, input shape and precision (and a
/// convolution's stride and padding). Generated code asks the backend for one <see cref="IKernel"/> per distinct
/// spec at load (<see cref="IComputeBackend.Specialize"/>) and passes it with every call of that shape, so the
/// backend plans (or, for a JIT backend, compiles) the kernel once per shape instead of once per call.
/// </summary>
public sealed record KernelSpec(LayerKind Op, int[] WeightShape, int[] InputShape, LayerPrecision Precision, int Stride = 1, int Padding = 0)
{
    /// <summary>The output shape a call with this spec produces.</summary>
    public int[] OutputShape()
    {
        var shape = (int[])InputShape.Clone();
        if (Op == LayerKind.Linear)
        {
            shape[^1] = WeightShape[0];
            return shape;
        }
        int k = WeightShape[2];
        return [InputShape[0], WeightShape[0], (InputShape[2] + 2 * Padding - k) / Stride + 1, (InputShape[3] + 2 * Padding - k) / Stride + 1];
    }

    /// <summary>Checks that a call of <paramref name="layer"/> on <paramref name="x"/> is the call this spec was made for.</summary>
    public void CheckCall(LayerInfo layer, Tensor x, int stride = 1, int padding = 0)
    {
        if (layer.Kind != Op || !layer.WeightShape.AsSpan().SequenceEqual(WeightShape) || layer.Precision != Precision
            || !x.Shape.SequenceEqual(InputShape) || stride != Stride || padding != Padding)
            throw new MixDQException(ErrorCodes.InvalidArgument,
                $"the {Op} kernel specialized for weight {Tensor.FormatShape(WeightShape)}, input {Tensor.FormatShape(InputShape)}, {Precision} " +
                $"was called for {layer.QualifiedName} ({Tensor.FormatShape(layer.WeightShape)}, {layer.Precision}) on {Tensor.FormatShape(x.Shape)}",
                item: layer.QualifiedName);
    }

    /// <summary>A short key, e.g. <c>conv2d w[320, 4, 3, 3] x[1, 4, 64, 64] s1 p1 FP16</c>.</summary>
    public override string ToString() =>
        $"{(Op == LayerKind.Linear ? "linear" : "conv2d")} w{Tensor.FormatShape(WeightShape)} x{Tensor.FormatShape(InputShape)}"
        + (Op == LayerKind.Conv2d ? $" s{Stride} p{Padding}" : "") + $" {Precision}";
}

/// <summary>A kernel a backend specialized for one <see cref="KernelSpec"/> (its execution plan, or compiled code).</summary>
public interface IKernel
{
    KernelSpec Spec { get; }
}

/// <summary>For backends with nothing to plan ahead: the spec alone; calls check it and run the generic op.</summary>
public sealed record GenericKernel(KernelSpec Spec) : IKernel;
