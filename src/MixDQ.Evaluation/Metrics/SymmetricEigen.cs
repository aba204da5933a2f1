namespace MixDQ.Evaluation.Metrics;

/// <summary>Eigen-decomposition of a real symmetric matrix by cyclic Jacobi rotations (double precision).</summary>
public static class SymmetricEigen
{
    /// <summary>
    /// Decomposes the symmetric n x n row-major matrix <paramref name="a"/> (left untouched) into
    /// eigenvalues and column eigenvectors (row-major n x n, column k belongs to eigenvalue k): a = V diag(w) V^T.
    /// </summary>
    public static (double[] Values, double[] Vectors) Decompose(ReadOnlySpan<double> a, int n)
    {
        if (a.Length != n * n) throw new ArgumentException("matrix must be n x n", nameof(a));
        var m = a.ToArray();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1.0;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++)
            {
                diag += m[i * n + i] * m[i * n + i];
                for (int j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
            }
            if (off <= 1e-30 * Math.Max(diag, 1e-300)) break;
            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p * n + q];
                    if (apq == 0) continue;
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k * n + p], mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p * n + k], mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        var w = new double[n];
        for (int i = 0; i < n; i++) w[i] = m[i * n + i];
        return (w, v);
    }

    /// <summary>The symmetric positive semi-definite square root V diag(sqrt(max(w,0))) V^T.</summary>
    public static double[] Sqrt(ReadOnlySpan<double> a, int n)
    {
        var (w, v) = Decompose(a, n);
        var r = new double[n * n];
        for (int k = 0; k < n; k++)
        {
            double s = Math.Sqrt(Math.Max(w[k], 0));
            if (s == 0) continue;
            for (int i = 0; i < n; i++)
            {
                double vik = v[i * n + k] * s;
                for (int j = 0; j < n; j++) r[i * n + j] += vik * v[j * n + k];
            }
        }
        return r;
    }
}
