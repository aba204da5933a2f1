using System.Collections.Concurrent;
using System.Reflection;

namespace MixDQ.Runtime.Backends;

/// <summary>
/// A kind of device a backend package brings (e.g. <c>cuda</c> from MixDQ.Backends.Ilgpu): whether one is present on
/// this machine, and the backend that runs on it. The runtime knows providers only by name, so the CPU-only package
/// never references a GPU library.
/// </summary>
public interface IDeviceProvider
{
    /// <summary>The device name users pick it by (<c>cuda</c>).</summary>
    string Name { get; }

    /// <summary>True when the device is present and usable (driver loadable, at least one device).</summary>
    bool IsAvailable();

    /// <summary>A backend on the device; the caller owns it.</summary>
    IComputeBackend CreateBackend();
}

/// <summary>
/// The device providers of this process: those registered explicitly, and the known backend packages found beside the
/// application (an app that references MixDQ.Backends.Ilgpu gets <c>cuda</c> without any code; one that does not never
/// loads ILGPU).
/// </summary>
public static class DeviceProviders
{
    /// <summary>Device name → "assembly, provider type" of the backend packages the runtime looks for.</summary>
    private static readonly IReadOnlyDictionary<string, (string Assembly, string Type)> KnownPackages = new Dictionary<string, (string, string)>
    {
        ["cuda"] = ("MixDQ.Backends.Ilgpu", "MixDQ.Backends.Ilgpu.CudaDeviceProvider"),
    };

    private static readonly ConcurrentDictionary<string, IDeviceProvider?> Providers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Makes <paramref name="provider"/> the one for its name (replacing a discovered one).</summary>
    public static void Register(IDeviceProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Providers[provider.Name] = provider;
    }

    /// <summary>The provider of <paramref name="name"/>, or null when none is registered and its package is not installed.</summary>
    public static IDeviceProvider? Find(string name) => Providers.GetOrAdd(name, Discover);

    private static IDeviceProvider? Discover(string name)
    {
        if (!KnownPackages.TryGetValue(name.ToLowerInvariant(), out var package)) return null;
        try
        {
            var type = Assembly.Load(package.Assembly).GetType(package.Type);
            return type is null ? null : Activator.CreateInstance(type) as IDeviceProvider;
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return null; // the package is not part of this application
        }
    }
}
