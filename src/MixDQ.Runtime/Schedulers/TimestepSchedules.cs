namespace MixDQ.Runtime.Schedulers;

/// <summary>Inference timesteps as diffusers' <c>set_timesteps</c> computes them (numpy semantics).</summary>
internal static class TimestepSchedules
{
    /// <summary>
    /// Euler-family timesteps (float32, descending) for a spacing:
    /// linspace = <c>np.linspace(0, T−1, n)[::-1]</c>; leading = <c>(arange(n)·(T//n)).round()[::-1] + steps_offset</c>;
    /// trailing = <c>arange(T, 0, −T/n).round() − 1</c>. For trailing, numpy's float <c>arange</c> yields one extra
    /// element for some n (61, 103, …, never for n ≤ 60), ending in the nonsensical t = −1; this keeps exactly n.
    /// </summary>
    public static float[] Euler(SchedulerConfig c, int n)
    {
        int trainSteps = c.NumTrainTimesteps;
        var t = new float[n];
        switch (c.TimestepSpacing)
        {
            case TimestepSpacing.Linspace:
                double[] grid = NumpyLinspace(0, trainSteps - 1, n);
                for (int i = 0; i < n; i++) t[i] = (float)grid[n - 1 - i];
                break;
            case TimestepSpacing.Leading:
                int ratio = trainSteps / n;
                for (int i = 0; i < n; i++) t[i] = (float)((n - 1 - i) * ratio) + c.StepsOffset;
                break;
            case TimestepSpacing.Trailing:
                double step = -((double)trainSteps / n);
                double first = trainSteps, second = first + step;
                double delta = second - first; // numpy fills arange as start + i·(a[1] − a[0])
                for (int i = 0; i < n; i++)
                {
                    double value = i == 0 ? first : i == 1 ? second : first + i * delta;
                    t[i] = (float)Math.Round(value, MidpointRounding.ToEven) - 1f;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.TimestepSpacing, null);
        }
        return t;
    }

    /// <summary>
    /// LCM timesteps: the distillation grid (1..original)·(T // original) − 1, reversed, sampled at
    /// ⌊linspace(0, original, n, endpoint=False)⌋.
    /// </summary>
    public static int[] Lcm(SchedulerConfig c, int n)
    {
        int original = c.OriginalInferenceSteps;
        int k = c.NumTrainTimesteps / original;
        var t = new int[n];
        double spacing = (double)original / n;
        for (int i = 0; i < n; i++)
        {
            int index = (int)Math.Floor(i * spacing);
            t[i] = (original - index) * k - 1; // reversed grid: element j is (original − j)·k − 1
        }
        return t;
    }

    /// <summary><c>np.interp(x, arange(len(fp)), fp)</c> in double, clamped to the ends.</summary>
    public static double Interpolate(float[] fp, double x)
    {
        if (x <= 0) return fp[0];
        if (x >= fp.Length - 1) return fp[^1];
        int j = (int)Math.Floor(x);
        if (x == j) return fp[j];
        double slope = (double)fp[j + 1] - fp[j]; // (fp[j+1] − fp[j]) / (xp[j+1] − xp[j]) with unit spacing
        return slope * (x - j) + fp[j];
    }

    /// <summary><c>np.linspace(start, stop, n)</c> (endpoint included): i·step + start, last set to stop.</summary>
    private static double[] NumpyLinspace(double start, double stop, int n)
    {
        var y = new double[n];
        if (n == 1)
        {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++) y[i] = i * step + start;
        y[^1] = stop;
        return y;
    }
}
