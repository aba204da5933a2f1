using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests;

public class TensorTests
{
    [Fact]
    public void Reshape_shares_data_and_infers_one_dimension()
    {
        var t = Tensor.FromSpan([1, 2, 3, 4, 5, 6], 2, 3);
        var r = t.Reshape(3, -1);
        Assert.Equal([3, 2], r.ShapeArray());
        Assert.Same(t.Data, r.Data);
    }

    [Fact]
    public void Shape_and_data_must_agree()
    {
        Assert.Throws<ArgumentException>(() => new Tensor(new float[5], 2, 3));
    }
}
