namespace MixDQ.Compiler.Analysis.Allocation;

/// <summary>
/// Halves of an allocation kept in the lock file between builds: the weight pick of a weight target and the activation
/// candidates of an activation target, so that changing one target does not redo the other's work.
/// </summary>
public sealed class AllocationCache(AnalysisLock analysisLock, string weightPickKey, string activationCandidatesKey)
{
    public string WeightPickKey { get; } = weightPickKey;

    public string ActivationCandidatesKey { get; } = activationCandidatesKey;

    public List<Dictionary<string, int>>? Get(string key) => analysisLock.Candidates(key);

    public void Set(string key, IReadOnlyList<IReadOnlyDictionary<string, int>> allocations) => analysisLock.SetCandidates(key, allocations);
}
