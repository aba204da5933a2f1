using MixDQ.Runtime.Backends.Cpu;

namespace MixDQ.Runtime.Pipelines;

public sealed partial class DiffusionPipeline
{
    /// <summary>
    /// Bytes the UNet's linear and conv layers keep resident on the CPU backend: packed integer panels with their scales
    /// and sums for integer layers, FP32 panels for the others, biases included (<see cref="CpuBackend.ResidentWeightBytes"/>);
    /// 0 on other backends, which do not report it yet.
    /// </summary>
    public long UnetResidentWeightBytes => _c.Unet.Bindings.Values.Sum(CpuBackend.ResidentWeightBytes);
}
