using System.Buffers.Binary;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.IO;

public class DTypeConversionTests
{
    private static byte[] AllSixteenBitPatterns()
    {
        var bytes = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)i);
        return bytes;
    }

    [Fact]
    public void Half_to_single_matches_System_Half_for_every_bit_pattern()
    {
        var result = new float[65536];
        DTypeConversions.HalfToSingle(AllSixteenBitPatterns(), result);
        for (int i = 0; i < 65536; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(result[i]),
                $"half 0x{i:X4}: expected {expected} (0x{BitConverter.SingleToUInt32Bits(expected):X8}), got {result[i]} (0x{BitConverter.SingleToUInt32Bits(result[i]):X8})");
        }
    }

    [Fact]
    public void BFloat16_to_single_is_the_bit_shift_for_every_bit_pattern()
    {
        var result = new float[65536];
        DTypeConversions.BFloat16ToSingle(AllSixteenBitPatterns(), result);
        for (int i = 0; i < 65536; i++)
            Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(result[i]));
    }

    [Fact]
    public void Vector_bodies_and_scalar_tails_agree_for_every_length_and_misaligned_source()
    {
        // Lengths 0..40 cover the 16- and 8-wide bodies and every tail; the offset of 1 makes the
        // source odd-aligned, as a safetensors data section may be.
        var rng = new Random(1);
        for (int n = 0; n <= 40; n++)
        {
            var buffer = new byte[1 + n * 2];
            rng.NextBytes(buffer);
            var source = buffer.AsSpan(1);
            var half = new float[n];
            var bf16 = new float[n];
            DTypeConversions.HalfToSingle(source, half);
            DTypeConversions.BFloat16ToSingle(source, bf16);
            for (int i = 0; i < n; i++)
            {
                ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]);
                Assert.Equal(BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(bits)), BitConverter.SingleToUInt32Bits(half[i]));
                Assert.Equal((uint)bits << 16, BitConverter.SingleToUInt32Bits(bf16[i]));
            }
        }
    }

    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(-2.0f, (ushort)0xC000)]
    [InlineData(1.00390625f, (ushort)0x3F80)]   // exactly half-way, even below: stays
    [InlineData(1.01171875f, (ushort)0x3F82)]   // exactly half-way, odd below: rounds up to even
    [InlineData(1.0039064f, (ushort)0x3F81)]    // one ulp above half-way (0x3F808001): rounds up
    [InlineData(float.PositiveInfinity, (ushort)0x7F80)]
    [InlineData(3.4028235e38f, (ushort)0x7F80)] // max float rounds to infinity, as in PyTorch
    public void Single_to_bfloat16_rounds_to_nearest_even(float value, ushort expected)
    {
        Assert.Equal(expected, DTypeConversions.SingleToBFloat16Bits(value));
    }

    [Fact]
    public void Single_to_bfloat16_keeps_NaN_a_NaN()
    {
        float signalingLike = BitConverter.UInt32BitsToSingle(0x7F800001);
        Assert.True(float.IsNaN(DTypeConversions.BFloat16BitsToSingle(DTypeConversions.SingleToBFloat16Bits(signalingLike))));
        Assert.True(float.IsNaN(DTypeConversions.BFloat16BitsToSingle(DTypeConversions.SingleToBFloat16Bits(float.NaN))));
    }

    [Fact]
    public void Every_dtype_converts_to_float32()
    {
        Check(DType.F64, w => { w.Write(1.5); w.Write(-1e300); }, [1.5f, float.NegativeInfinity]);
        Check(DType.I64, w => { w.Write(-3L); w.Write(1L << 40); }, [-3f, 1099511627776f]);
        Check(DType.I32, w => { w.Write(-7); w.Write(int.MaxValue); }, [-7f, 2147483648f]);
        Check(DType.I16, w => { w.Write((short)-300); w.Write(short.MaxValue); }, [-300f, 32767f]);
        Check(DType.I8, w => { w.Write((sbyte)-128); w.Write((sbyte)127); }, [-128f, 127f]);
        Check(DType.U8, w => { w.Write((byte)0); w.Write((byte)255); }, [0f, 255f]);
        Check(DType.BOOL, w => { w.Write((byte)0); w.Write((byte)1); w.Write((byte)2); }, [0f, 1f, 1f]);
        Check(DType.F32, w => { w.Write(0.1f); w.Write(float.NaN); }, [0.1f, float.NaN]);

        static void Check(DType dtype, Action<BinaryWriter> write, float[] expected)
        {
            var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) write(w);
            var result = new float[expected.Length];
            DTypeConversions.ToFloat32(ms.ToArray(), dtype, result);
            Assert.Equal(expected, result);
        }
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => DTypeConversions.ToFloat32(new byte[6], DType.F32, new float[2]));
        Assert.Throws<ArgumentException>(() => DTypeConversions.HalfToSingle(new byte[3], new float[1]));
    }
}
