using System.Globalization;

namespace MixDQ.Bench;

/// <summary>
/// The memory lines of <c>/proc/self/status</c> (Linux), in bytes: VmHWM is the peak resident set, VmRSS
/// the current one, split into RssAnon (heap, GC) and RssFile (mapped file pages that were touched).
/// </summary>
internal sealed record ProcStatus(long VmHwm, long VmRss, long RssAnon, long RssFile)
{
    public static bool Available => File.Exists("/proc/self/status");

    public static ProcStatus Read()
    {
        var kb = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            string[] parts = line[(colon + 1)..].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                kb[line[..colon]] = v;
        }
        long Get(string key) => kb.TryGetValue(key, out long v) ? v * 1024 : throw new InvalidOperationException($"/proc/self/status has no {key}");
        return new ProcStatus(Get("VmHWM"), Get("VmRSS"), Get("RssAnon"), Get("RssFile"));
    }
}
