using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// diffusers ResnetBlock2D (time_embedding_norm "default", SiLU): GroupNorm → SiLU → conv1 (+ projected
/// time embedding) → GroupNorm → SiLU → conv2, plus the input (through a 1×1 conv when the width changes),
/// divided by the output scale factor. The VAE uses it without a time embedding.
/// </summary>
internal sealed class ResnetBlock2D
{
    private readonly IComputeBackend? _backend;
    private readonly GroupNormOp _norm1;
    private readonly ConvOp _conv1;
    private readonly LinearOp? _timeEmbProj;
    private readonly GroupNormOp _norm2;
    private readonly ConvOp _conv2;
    private readonly ConvOp? _shortcut;
    private readonly double _outputScale;

    public ResnetBlock2D(ModuleBuilder b, string path, int inChannels, int outChannels, int? timeEmbedChannels,
        int groups, double eps, double outputScale)
    {
        _backend = b.Backend;
        _norm1 = b.GroupNorm(path + ".norm1", inChannels, groups, eps);
        _conv1 = b.Conv(path + ".conv1", outChannels, inChannels, 3);
        if (timeEmbedChannels is int t) _timeEmbProj = b.Linear(path + ".time_emb_proj", outChannels, t);
        _norm2 = b.GroupNorm(path + ".norm2", outChannels, groups, eps);
        _conv2 = b.Conv(path + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels) _shortcut = b.Conv(path + ".conv_shortcut", outChannels, inChannels, 1);
        _outputScale = outputScale;
    }

    /// <param name="x">[B, in, H, W].</param>
    /// <param name="timeEmbedActivated">SiLU(temb) [B, T], shared by every ResNet of a forward pass; null for the VAE.</param>
    public Tensor Forward(Tensor x, Tensor? timeEmbedActivated)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        var h = _conv1.Forward(_norm1.Forward(x, silu: true));
        if (_timeEmbProj is not null)
            h = be.AddChannelBias(h, _timeEmbProj.Forward(timeEmbedActivated ?? throw new InvalidOperationException("time embedding required")));
        h = _conv2.Forward(_norm2.Forward(h, silu: true));
        var y = be.Add(_shortcut?.Forward(x) ?? x, h);
        return _outputScale == 1 ? y : be.Affine(y, (float)(1 / _outputScale), 0);
    }
}
