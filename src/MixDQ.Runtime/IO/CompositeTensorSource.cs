using System.Runtime.InteropServices;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// Several tensor sources seen as one (the shards of a sharded checkpoint). A name must live in
/// exactly one source. Disposing disposes the sources that are disposable.
/// </summary>
public sealed class CompositeTensorSource : ITensorFile
{
    private readonly ITensorSource[] _sources;
    private readonly Dictionary<string, (ITensorSource Source, TensorInfo Info)> _byName = new(StringComparer.Ordinal);
    private readonly List<TensorInfo> _order = [];
    private bool _disposed;

    /// <exception cref="MixDQException"><see cref="ErrorCodes.DuplicateTensor"/> when two sources hold the same name.</exception>
    public CompositeTensorSource(IEnumerable<ITensorSource> sources, string? origin = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = [.. sources];
        Origin = origin ?? string.Join(", ", _sources.Select(s => s.Origin));
        Metadata = metadata ?? new Dictionary<string, string>();
        foreach (var source in _sources)
        {
            foreach (var info in source.Tensors)
            {
                if (_byName.TryGetValue(info.Name, out var first))
                    throw new MixDQException(ErrorCodes.DuplicateTensor,
                        $"tensor '{info.Name}' is in both {first.Source.Origin} and {source.Origin}", source.Origin, info.Name);
                _byName.Add(info.Name, (source, info));
                _order.Add(info);
            }
        }
    }

    public string Origin { get; }

    /// <summary>The sources, in the order given.</summary>
    public IReadOnlyList<ITensorSource> Sources => _sources;

    /// <summary>Metadata of the whole (for an index file: its <c>metadata</c> object, values as text).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IEnumerable<TensorInfo> Tensors => _order;

    /// <summary>
    /// Opens a sharded checkpoint from its <c>*.safetensors.index.json</c>: every shard named in
    /// <c>weight_map</c> is opened (relative to the index folder) and each mapped tensor must be in its shard.
    /// </summary>
    public static CompositeTensorSource OpenIndexed(string indexJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(indexJsonPath);
        string full = Path.GetFullPath(indexJsonPath);
        var (weightMap, metadata) = ReadIndex(full);
        string dir = Path.GetDirectoryName(full)!;
        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var shards = new List<SafetensorsFile>(shardNames.Count);
        try
        {
            foreach (string shardName in shardNames)
            {
                string shardPath = Path.GetFullPath(Path.Combine(dir, shardName));
                if (!File.Exists(shardPath))
                    throw new MixDQException(ErrorCodes.WeightsFileMissing, $"shard '{shardName}' named in the index does not exist", full, shardName);
                shards.Add(SafetensorsFile.Open(shardPath));
            }
            var byShardName = shardNames.Zip(shards).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
            foreach (var (tensor, shardName) in weightMap)
            {
                if (!byShardName[shardName].Contains(tensor))
                    throw new MixDQException(ErrorCodes.WeightsMismatch,
                        $"the index puts tensor '{tensor}' in '{shardName}', which does not hold it", full, tensor);
            }
            return new CompositeTensorSource(shards, full, metadata);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, string> WeightMap, Dictionary<string, string> Metadata) ReadIndex(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MixDQException(ErrorCodes.WeightsFileMissing, "the index file does not exist", path, inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read the index file: {e.Message}", path, inner: e);
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.ConfigInvalid, "the index file is not a JSON object", path);
            if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.ConfigInvalid, "the index file has no 'weight_map' object", path, "weight_map");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(p.Value.GetString()))
                    throw new MixDQException(ErrorCodes.ConfigInvalid, $"weight_map entry '{p.Name}' must be a file name", path, "weight_map." + p.Name);
                string shard = p.Value.GetString()!;
                // Shards live beside the index; a path elsewhere is not a checkpoint layout and is refused.
                if (shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw new MixDQException(ErrorCodes.ConfigInvalid, $"weight_map entry '{p.Name}' names '{shard}', not a file beside the index", path, "weight_map." + p.Name);
                if (!weightMap.TryAdd(p.Name, shard))
                    throw new MixDQException(ErrorCodes.DuplicateTensor, $"weight_map names tensor '{p.Name}' twice", path, p.Name);
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            {
                // Index metadata holds numbers (total_size); keep each value's text.
                foreach (var p in meta.EnumerateObject())
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
            return (weightMap, metadata);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string escape that decodes to broken UTF-16 (a lone surrogate).
            throw new MixDQException(ErrorCodes.ConfigInvalid, $"the index file is not valid JSON: {e.Message}", path, inner: e);
        }
    }

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_byName.TryGetValue(name, out var e))
        {
            info = e.Info;
            return true;
        }
        info = null!;
        return false;
    }

    public Tensor ReadFloat32(string name) => Find(name).ReadFloat32(name);

    public void ReadFloat32(string name, Span<float> destination)
    {
        var source = Find(name);
        if (source is ITensorFile file)
        {
            file.ReadFloat32(name, destination);
            return;
        }
        var t = source.ReadFloat32(name);
        if (t.Length != destination.Length)
            throw new ArgumentException($"tensor '{name}' has {t.Length} elements, the destination {destination.Length}", nameof(destination));
        t.Data.CopyTo(destination);
    }

    public void ReadFloat32(string name, long start, Span<float> destination)
    {
        var source = Find(name);
        if (source is ITensorFile file)
        {
            file.ReadFloat32(name, start, destination);
            return;
        }
        var t = source.ReadFloat32(name);
        TensorRanges.Check(name, t.Length, start, destination.Length);
        t.Data.AsSpan((int)start, destination.Length).CopyTo(destination);
    }

    public Tensor? TryReadFloat32(string name) => _byName.ContainsKey(name) ? ReadFloat32(name) : null;

    /// <summary>
    /// The stored bytes. For a source that is not an <see cref="ITensorFile"/> only F32 tensors have bytes:
    /// those of the tensor it returns.
    /// </summary>
    public ReadOnlySpan<byte> GetRawBytes(string name)
    {
        var source = Find(name);
        if (source is ITensorFile file) return file.GetRawBytes(name);
        if (_byName[name].Info.DType != DType.F32)
            throw new NotSupportedException($"{source.Origin} gives no raw bytes for the {_byName[name].Info.DType} tensor '{name}'");
        return MemoryMarshal.AsBytes(source.ReadFloat32(name).Data.AsSpan());
    }

    private ITensorSource Find(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var e)
            ? e.Source
            : throw new MixDQException(ErrorCodes.TensorNotFound, $"tensor '{name}' is in none of the sources", Origin, name);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _sources) (s as IDisposable)?.Dispose();
    }
}
