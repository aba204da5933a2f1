namespace MixDQ.Runtime.Tensors;

/// <summary>Element types of tensor files (the safetensors names).</summary>
public enum DType
{
    F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL,
}

public static class DTypeInfo
{
    public static int SizeOf(DType t) => t switch
    {
        DType.F64 or DType.I64 => 8,
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.I8 or DType.U8 or DType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };
}

/// <summary>Name, element type and shape of a stored tensor.</summary>
public sealed record TensorInfo(string Name, DType DType, int[] Shape)
{
    public long ElementCount => Tensor.ElementCount(Shape);
    public long ByteLength => ElementCount * DTypeInfo.SizeOf(DType);
}

/// <summary>
/// Read access to named tensors (a safetensors file, several files of one component, or an
/// in-memory dictionary in tests). Models bind their weights through this and nothing else.
/// </summary>
public interface ITensorSource
{
    /// <summary>Where the tensors come from (a file path), for error messages.</summary>
    string Origin { get; }

    IEnumerable<TensorInfo> Tensors { get; }

    bool TryGetInfo(string name, out TensorInfo info);

    /// <summary>The tensor converted to FP32 (F16/BF16/F64/integers are converted element by element).</summary>
    Tensor ReadFloat32(string name);
}

/// <summary>An in-memory <see cref="ITensorSource"/>, for tests and for weights made in code.</summary>
public sealed class DictionaryTensorSource : ITensorSource
{
    private readonly Dictionary<string, Tensor> _tensors;

    public DictionaryTensorSource(IDictionary<string, Tensor> tensors, string origin = "<memory>")
    {
        _tensors = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
        Origin = origin;
    }

    public string Origin { get; }

    public IReadOnlyDictionary<string, Tensor> Items => _tensors;

    public IEnumerable<TensorInfo> Tensors => _tensors.Select(kv => new TensorInfo(kv.Key, DType.F32, kv.Value.ShapeArray()));

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (_tensors.TryGetValue(name, out var t))
        {
            info = new TensorInfo(name, DType.F32, t.ShapeArray());
            return true;
        }
        info = null!;
        return false;
    }

    public Tensor ReadFloat32(string name) => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new Diagnostics.MixDQException(Diagnostics.ErrorCodes.TensorNotFound, $"tensor '{name}' not found", Origin, name);
}
