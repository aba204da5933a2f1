using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>Models bind weights from real safetensors files (F32 and F16) exactly as from memory.</summary>
public sealed class SafetensorsBindingTests
{
    [Fact]
    public void F16FileGivesTheSameOutputAsTheRoundedWeightsInMemory()
    {
        var cfg = TinyModels.Clip(layers: 1, withProjection: true);
        var weights = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, true), 8);
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("model.fp16.safetensors");
        var withBuffer = new Dictionary<string, Tensor>(weights) { ["text_model.embeddings.position_ids"] = Tensor.Zeros(1, 77) };
        SafetensorsWriter.WriteTensors(path, withBuffer, DType.F16);

        // The same weights rounded to F16 (round-to-nearest-even), kept in memory.
        var rounded = weights.ToDictionary(kv => kv.Key, kv => new Tensor(kv.Value.Data.Select(v => (float)(Half)v).ToArray(), kv.Value.ShapeArray()));
        var backend = new ReferenceBackend();
        var ids = TinyModels.Ids(1, 4);
        var expected = ClipTextModel.Create(cfg, new DictionaryTensorSource(rounded), backend, "text_encoder_2", true).Forward(ids, 1);
        using var file = TensorFiles.Open(path);
        var actual = ClipTextModel.Create(cfg, file, backend, "text_encoder_2", true).Forward(ids, 1);
        TensorAssert.Close(expected.Hidden.Data, actual.Hidden.Data, 0, "hidden from F16 file");
        TensorAssert.Close(expected.TextEmbeds!.Data, actual.TextEmbeds!.Data, 0, "text_embeds from F16 file");
    }

    [Fact]
    public void MismatchErrorNamesTheFile()
    {
        var cfg = TinyModels.Taesd(channels: 4);
        var weights = TinyModels.Weights(TaesdDecoder.ExpectedTensors(cfg), 8);
        weights.Remove("decoder.layers.0.bias");
        weights["encoder.layers.0.weight"] = Tensor.Zeros(4, 3, 3, 3); // a known extra
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("diffusion_pytorch_model.safetensors");
        SafetensorsWriter.WriteTensors(path, weights);
        using var file = TensorFiles.Open(path);
        var e = Assert.Throws<MixDQException>(() => TaesdDecoder.Create(cfg, file, new ReferenceBackend()));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Equal(path, e.File);
        Assert.Equal("decoder.layers.0.bias", e.Item);
        Assert.Contains("1 missing, 0 unexpected, 0 with the wrong shape", e.Message);
    }
}
