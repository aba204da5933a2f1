using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>Collects load warnings (from any thread) for a test to inspect.</summary>
internal sealed class Collect : IProgress<MixDQWarning>
{
    public List<MixDQWarning> Items { get; } = [];

    public void Report(MixDQWarning value)
    {
        lock (Items) Items.Add(value);
    }
}
