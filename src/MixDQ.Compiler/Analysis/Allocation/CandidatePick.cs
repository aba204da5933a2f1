using System.Globalization;
using MixDQ.Compiler.Analysis.Simulation;

namespace MixDQ.Compiler.Analysis.Allocation;

/// <summary>What the candidates are compared with: FP's latents of the first pick prompt and FP's images of every pick prompt.</summary>
public sealed record PickReference(float[] Latents, IReadOnlyList<AnalysisSample> Images)
{
    /// <summary>Generates the FP reference with the session's table cleared.</summary>
    public static PickReference Of(AnalysisSession session, CancellationToken cancellationToken)
    {
        session.Backend.ClearLayers();
        return new PickReference(session.Latents(session.SensitivityPrompts, 0, cancellationToken), session.RunSensitivitySet(cancellationToken));
    }
}

/// <summary>
/// The final pick of MixDQ's allocation: of the distinct candidates of the budget sweep, the one whose generated images are
/// closest to FP's (lowest pixel MSE). Generating every candidate's images on every pick prompt dominated a re-solve after a
/// change of target bits (hundreds of candidates × images × a UNet pass and a VAE decode each), so the pick runs in two stages:
/// <list type="number">
/// <item>a screen ranks every candidate by the SQNR of its denoised latents for the first pick prompt against FP's (the UNet's
/// part of one image, no decode; for a fixed reference, higher SQNR is lower MSE);</item>
/// <item>the <c>shortlist</c> best of the screen are generated on every pick prompt and ranked by pixel MSE against FP —
/// the method's criterion decides, on more images than the paper's one.</item>
/// </list>
/// A shortlist of 0 (or one at least as long as the candidate list) skips the screen: every candidate's images, as the paper.
/// Ties keep the earlier candidate in sweep order, so the pick is deterministic.
/// </summary>
public static class CandidatePick
{
    public static Dictionary<string, int> Run(AnalysisSession session, PickReference reference, int shortlist,
        IReadOnlyList<Dictionary<string, int>> candidates, Func<Dictionary<string, int>, IEnumerable<KeyValuePair<string, LayerSimulation>>> table,
        string kind, IProgress<AnalysisProgress>? progress, Action<string>? log, CancellationToken cancellationToken)
    {
        if (candidates.Count == 1) return candidates[0];
        var finalists = Enumerable.Range(0, candidates.Count).ToList();
        bool screen = shortlist > 0 && shortlist < candidates.Count;
        int steps = (screen ? candidates.Count : 0) + Math.Min(candidates.Count, screen ? shortlist : candidates.Count);
        int done = 0;
        try
        {
            if (screen)
            {
                var sqnr = new double[candidates.Count];
                for (int i = 0; i < candidates.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Report(new AnalysisProgress("pick " + kind, done++, steps));
                    session.Backend.SetLayers(table(candidates[i]));
                    sqnr[i] = SensitivityPass.Sqnr(reference.Latents, session.Latents(session.SensitivityPrompts, 0, cancellationToken));
                }
                finalists = finalists.OrderByDescending(i => sqnr[i]).ThenBy(i => i).Take(shortlist).Order().ToList();
            }

            double best = double.PositiveInfinity;
            int bestIndex = finalists[0];
            foreach (int i in finalists)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new AnalysisProgress("pick " + kind, done++, steps));
                session.Backend.SetLayers(table(candidates[i]));
                double mse = SensitivityPass.PixelMse(reference.Images, session.RunSensitivitySet(cancellationToken));
                if (mse < best)
                {
                    best = mse;
                    bestIndex = i;
                }
            }
            progress?.Report(new AnalysisProgress("pick " + kind, steps, steps));
            string finalistsNote = screen ? $"; {finalists.Count} finalists of the latent screen" : "";
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{kind}: candidate {bestIndex + 1} of {candidates.Count} has the lowest pixel MSE vs FP ({best:0.###}{finalistsNote})"));
            return candidates[bestIndex];
        }
        finally
        {
            session.Backend.ClearLayers();
            session.Backend.TrimCache();
        }
    }
}
