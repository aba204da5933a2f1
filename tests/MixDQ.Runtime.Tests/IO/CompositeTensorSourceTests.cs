using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

public sealed class CompositeTensorSourceTests : IDisposable
{
    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public void Dispose() => _dir.Dispose();

    private void Shard(string file, params (string Name, float Value)[] tensors) =>
        SafetensorsWriter.WriteTensors(_dir.File(file), tensors.ToDictionary(t => t.Name, t => Tensor.FromSpan([t.Value, t.Value], 2)), DType.F16);

    private string Index(string file, string weightMapJson)
    {
        string path = _dir.File(file);
        File.WriteAllText(path, "{\"metadata\": {\"total_size\": 16}, \"weight_map\": " + weightMapJson + "}");
        return path;
    }

    [Fact]
    public void OpenIndexed_reads_tensors_from_every_shard()
    {
        Shard("m-00001-of-00002.safetensors", ("a", 1f), ("b", 2f));
        Shard("m-00002-of-00002.safetensors", ("c", 3f));
        string index = Index("m.safetensors.index.json",
            "{\"a\": \"m-00001-of-00002.safetensors\", \"b\": \"m-00001-of-00002.safetensors\", \"c\": \"m-00002-of-00002.safetensors\"}");

        using var source = CompositeTensorSource.OpenIndexed(index);
        Assert.Equal(["a", "b", "c"], source.Tensors.Select(t => t.Name).Order());
        Assert.Equal([3f, 3f], source.ReadFloat32("c").Data);
        Assert.Equal(DType.F16, source.Tensors.Single(t => t.Name == "a").DType);
        Assert.Equal(4, source.GetRawBytes("a").Length);
        Assert.Equal("16", source.Metadata["total_size"]);
        Assert.Null(source.TryReadFloat32("zzz"));
        var e = Assert.Throws<MixDQException>(() => source.ReadFloat32("zzz"));
        Assert.Equal(ErrorCodes.TensorNotFound, e.Code);
        Assert.Equal(index, e.File);
    }

    [Fact]
    public void Missing_shard_is_WeightsFileMissing()
    {
        Shard("s1.safetensors", ("a", 1f));
        string index = Index("i.json", "{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}");
        var e = Assert.Throws<MixDQException>(() => CompositeTensorSource.OpenIndexed(index));
        Assert.Equal(ErrorCodes.WeightsFileMissing, e.Code);
        Assert.Equal(index, e.File);
        Assert.Contains("s2.safetensors", e.Message);
    }

    [Fact]
    public void Weight_map_naming_a_tensor_its_shard_lacks_is_WeightsMismatch()
    {
        Shard("s1.safetensors", ("a", 1f));
        string index = Index("i.json", "{\"a\": \"s1.safetensors\", \"ghost\": \"s1.safetensors\"}");
        var e = Assert.Throws<MixDQException>(() => CompositeTensorSource.OpenIndexed(index));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Equal("ghost", e.Item);
    }

    [Fact]
    public void The_same_tensor_in_two_shards_is_DuplicateTensor()
    {
        Shard("s1.safetensors", ("a", 1f));
        Shard("s2.safetensors", ("a", 2f), ("c", 3f));
        string index = Index("i.json", "{\"a\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}");
        var e = Assert.Throws<MixDQException>(() => CompositeTensorSource.OpenIndexed(index));
        Assert.Equal(ErrorCodes.DuplicateTensor, e.Code);
        Assert.Equal("a", e.Item);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"metadata\": {}}")]
    [InlineData("{\"weight_map\": {\"a\": 3}}")]
    [InlineData("{\"weight_map\": {\"a\": \"../outside.safetensors\"}}")]
    [InlineData("{\"weight_map\": {\"\\ud800\": \"s.safetensors\"}}")]
    public void Bad_index_is_ConfigInvalid(string json)
    {
        string path = _dir.File("bad.index.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<MixDQException>(() => CompositeTensorSource.OpenIndexed(path));
        Assert.Equal(ErrorCodes.ConfigInvalid, e.Code);
        Assert.Equal(path, e.File);
    }

    [Fact]
    public void Composite_over_memory_and_file_sources()
    {
        Shard("f.safetensors", ("file.w", 5f));
        var memory = new DictionaryTensorSource(new Dictionary<string, Tensor> { ["mem.w"] = Tensor.FromSpan([7f], 1) });
        using var composite = new CompositeTensorSource([memory, SafetensorsFile.Open(_dir.File("f.safetensors"))]);
        Assert.Equal([7f], composite.ReadFloat32("mem.w").Data);
        Assert.Equal(BitConverter.GetBytes(7f), composite.GetRawBytes("mem.w").ToArray());
        var into = new float[2];
        composite.ReadFloat32("file.w", into);
        Assert.Equal([5f, 5f], into);
    }

    [Fact]
    public void OpenComponentWeights_prefers_full_precision_unless_asked()
    {
        SafetensorsWriter.WriteTensors(_dir.File("diffusion_pytorch_model.safetensors"), new Dictionary<string, Tensor> { ["w"] = Tensor.FromSpan([1f], 1) });
        SafetensorsWriter.WriteTensors(_dir.File("diffusion_pytorch_model.fp16.safetensors"), new Dictionary<string, Tensor> { ["w"] = Tensor.FromSpan([1f], 1) }, DType.F16);

        using (var full = TensorFiles.OpenComponentWeights(_dir.Path, TensorFiles.DiffusersBaseName))
            Assert.Equal(DType.F32, full.Tensors.Single().DType);
        using (var half = TensorFiles.OpenComponentWeights(_dir.Path, TensorFiles.DiffusersBaseName, preferFp16: true))
            Assert.Equal(DType.F16, half.Tensors.Single().DType);
    }

    [Fact]
    public void OpenComponentWeights_falls_back_to_the_other_precision_and_to_shards()
    {
        SafetensorsWriter.WriteTensors(_dir.File("model.fp16.safetensors"), new Dictionary<string, Tensor> { ["w"] = Tensor.FromSpan([1f], 1) }, DType.F16);
        using (var only = TensorFiles.OpenComponentWeights(_dir.Path, TensorFiles.TransformersBaseName))
            Assert.Equal(DType.F16, only.Tensors.Single().DType);

        Shard("diffusion_pytorch_model-00001-of-00001.safetensors", ("x", 1f));
        Index("diffusion_pytorch_model.safetensors.index.json", "{\"x\": \"diffusion_pytorch_model-00001-of-00001.safetensors\"}");
        using var sharded = TensorFiles.OpenComponentWeights(_dir.Path, TensorFiles.DiffusersBaseName, preferFp16: true);
        Assert.IsType<CompositeTensorSource>(sharded);
        Assert.Equal([1f, 1f], sharded.ReadFloat32("x").Data);
    }

    [Fact]
    public void OpenComponentWeights_without_weights_is_MIXDQ025()
    {
        File.WriteAllText(_dir.File("diffusion_pytorch_model.bin"), "pickle");
        var e = Assert.Throws<MixDQException>(() => TensorFiles.OpenComponentWeights(_dir.Path, TensorFiles.DiffusersBaseName));
        Assert.Equal(ErrorCodes.WeightsFileMissing, e.Code);
        Assert.Equal(Path.GetFullPath(_dir.Path), e.File);
        Assert.Contains("diffusion_pytorch_model.safetensors", e.Message);
        Assert.Contains(".bin", e.Message);

        var missingDir = Assert.Throws<MixDQException>(() => TensorFiles.OpenComponentWeights(_dir.File("nope"), "model"));
        Assert.Equal(ErrorCodes.WeightsFileMissing, missingDir.Code);
    }
}
