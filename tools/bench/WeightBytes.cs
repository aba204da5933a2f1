using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// The size of a model folder's weights, from the safetensors headers only (no tensor bytes are read):
/// <see cref="FileFp32"/> counts every tensor of the component files at 4 bytes an element,
/// <see cref="HeldFp32"/> only those the runtime keeps (a VAE file also holds the encoder, which
/// text-to-image never runs), and <see cref="OnDisk"/> the files' stored bytes.
/// </summary>
internal sealed record WeightBytes(long FileFp32, long HeldFp32, long OnDisk)
{
    public static WeightBytes Measure(string modelDir)
    {
        long file = 0, held = 0, disk = 0;
        void Add(string component, string baseName, IReadOnlyList<TensorInfo> expected)
        {
            using var weights = TensorFiles.OpenComponentWeights(Path.Combine(modelDir, component), baseName);
            foreach (var t in weights.Tensors)
            {
                file += t.ElementCount * 4;
                disk += t.ElementCount * DTypeInfo.SizeOf(t.DType);
            }
            held += expected.Sum(t => t.ElementCount * 4);
        }
        string Config(string component) => Path.Combine(modelDir, component, "config.json");

        Add("text_encoder", TensorFiles.TransformersBaseName, ClipTextModel.ExpectedTensors(ClipTextConfig.Load(Config("text_encoder")), withProjection: false));
        if (Directory.Exists(Path.Combine(modelDir, "text_encoder_2")))
            Add("text_encoder_2", TensorFiles.TransformersBaseName, ClipTextModel.ExpectedTensors(ClipTextConfig.Load(Config("text_encoder_2")), withProjection: true));
        Add("unet", TensorFiles.DiffusersBaseName, UNet2DConditionModel.ExpectedTensors(UNet2DConditionConfig.Load(Config("unet"))));
        Add("vae", TensorFiles.DiffusersBaseName, AutoencoderKLDecoder.ExpectedTensors(AutoencoderKLConfig.Load(Config("vae"))));
        return new WeightBytes(file, held, disk);
    }
}
