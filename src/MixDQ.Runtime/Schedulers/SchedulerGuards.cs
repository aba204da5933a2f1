using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>Argument checks shared by the schedulers; failures are <c>MIXDQ050</c> naming the argument.</summary>
internal static class SchedulerGuards
{
    public static void CheckStepCount(int steps, int max, string limitName)
    {
        if (steps < 1 || steps > max)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"steps must be from 1 to {max} ({limitName}), found {steps}", item: "steps");
    }

    public static void CheckStepIndex(int stepIndex, int count)
    {
        if (stepIndex < 0 || stepIndex >= count)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"step index {stepIndex} is outside 0..{count - 1}", item: "stepIndex");
    }

    public static void CheckSameShape(Tensor modelOutput, Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        if (!modelOutput.SameShape(sample))
            throw new MixDQException(ErrorCodes.InvalidArgument,
                $"model output {Tensor.FormatShape(modelOutput.Shape)} and sample {Tensor.FormatShape(sample.Shape)} differ in shape", item: "modelOutput");
    }

    public static INoiseSource RequireNoise(INoiseSource? noise, string scheduler) =>
        noise ?? throw new MixDQException(ErrorCodes.InvalidArgument, $"{scheduler} needs a noise source for this step", item: "noise");
}
