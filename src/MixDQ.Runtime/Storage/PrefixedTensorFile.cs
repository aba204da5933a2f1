using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Storage;

/// <summary>
/// The tensors of one file whose names start with a prefix, seen without it (<c>unet/conv_in.weight</c> as
/// <c>conv_in.weight</c>), so models bind by their own names and error lists show those names. A view: it
/// shares the file's mapping and disposing it leaves the file open.
/// </summary>
internal sealed class PrefixedTensorFile : ITensorFile, IMappedTensorSource
{
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();
    private readonly ITensorFile _file;
    private readonly string _prefix;
    private readonly Dictionary<string, TensorInfo> _byName = new(StringComparer.Ordinal);
    private readonly List<TensorInfo> _order = [];
    private bool _disposed;

    public PrefixedTensorFile(ITensorFile file, string prefix, string origin)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        _file = file;
        _prefix = prefix;
        Origin = origin;
        foreach (var info in file.Tensors)
        {
            if (!info.Name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var local = info with { Name = info.Name[prefix.Length..] };
            _byName.Add(local.Name, local);
            _order.Add(local);
        }
    }

    public string Origin { get; }

    public IEnumerable<TensorInfo> Tensors => _order;

    /// <summary>None: the artifact's metadata belongs to the whole model, not to one component.</summary>
    public IReadOnlyDictionary<string, string> Metadata => NoMetadata;

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (name is not null && _byName.TryGetValue(name, out var found))
        {
            info = found;
            return true;
        }
        info = null!;
        return false;
    }

    public Tensor ReadFloat32(string name) => _file.ReadFloat32(Full(name));

    public void ReadFloat32(string name, Span<float> destination) => _file.ReadFloat32(Full(name), destination);

    public void ReadFloat32(string name, long start, Span<float> destination) => _file.ReadFloat32(Full(name), start, destination);

    public Tensor? TryReadFloat32(string name) => _byName.ContainsKey(name) ? ReadFloat32(name) : null;

    public ReadOnlySpan<byte> GetRawBytes(string name) => _file.GetRawBytes(Full(name));

    public MappedTensor? TryMap(string name) =>
        _file is IMappedTensorSource mapped && name is not null && _byName.ContainsKey(name) ? mapped.TryMap(_prefix + name) : null;

    private string Full(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(name);
        return _byName.ContainsKey(name)
            ? _prefix + name
            : throw new MixDQException(ErrorCodes.TensorNotFound, $"tensor '{name}' is not in the file", Origin, name);
    }

    public void Dispose() => _disposed = true;

    public override string ToString() => $"PrefixedTensorFile({Origin}, {_order.Count} tensors)";
}
