// Shared source: compiled into the compiler and, linked (<Compile Include Link>), into the netstandard2.0 source generator,
// so the layer record's widths and byte counts are defined once. Keep it to plain C# 7.3-compatible code with no usings
// beyond System.
using System;

namespace MixDQ.Plans
{
    /// <summary>The plan schema's per-layer rules that the compiler writes and the generator checks.</summary>
    internal static class PlanSchema
    {
        /// <summary>Weight widths a layer may have: integer 2/4/8, FP16, FP32.</summary>
        public static readonly int[] WeightBits = { 2, 4, 8, 16, 32 };

        /// <summary>Activation widths a layer may have: integer 4/8, FP16, FP32.</summary>
        public static readonly int[] ActivationBits = { 4, 8, 16, 32 };

        /// <summary>Smallest and largest requested average width (settings.requestedWeightBits/ActivationBits).</summary>
        public const double MinRequestedBits = 2;
        public const double MaxRequestedBits = 32;

        /// <summary>Weight schemes of integer layers (<c>weightScheme</c>).</summary>
        public const string Symmetric = "sym";
        public const string Asymmetric = "asym";

        /// <summary>Sensitivity metrics (<c>sensitivity.metric</c>).</summary>
        public const string Ssim = "ssim";
        public const string Sqnr = "sqnr";

        /// <summary>True for the integer weight widths (2, 4, 8).</summary>
        public static bool IsIntegerWeight(int bits) => bits == 2 || bits == 4 || bits == 8;

        /// <summary>
        /// Bytes a layer's weight takes in the artifact: parameters × bits / 8 for floats; for integer layers the packed
        /// rows (each padded to a whole byte), one FP32 scale per output channel, and one U8 zero point per channel when
        /// asymmetric.
        /// </summary>
        public static long WeightBytes(int[] shape, int bits, bool asymmetric)
        {
            if (shape == null || shape.Length == 0) throw new ArgumentException("a weight shape is needed", nameof(shape));
            long rows = shape[0], rowLength = 1;
            for (int i = 1; i < shape.Length; i++) rowLength *= shape[i];
            if (!IsIntegerWeight(bits)) return rows * rowLength * bits / 8;
            long perByte = 8 / bits;
            long rowBytes = (rowLength + perByte - 1) / perByte;
            return rows * rowBytes + 4 * rows + (asymmetric ? rows : 0);
        }
    }
}
