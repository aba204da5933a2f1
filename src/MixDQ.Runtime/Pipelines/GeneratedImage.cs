using MixDQ.Runtime.Imaging;

namespace MixDQ.Runtime.Pipelines;

/// <summary>An 8-bit RGB image (row-major, H×W×3) with the settings that produced it.</summary>
public sealed class GeneratedImage
{
    public GeneratedImage(byte[] rgb, int width, int height, GenerationInfo info)
    {
        if (rgb.Length != checked(width * height * 3))
            throw new ArgumentException($"{width}x{height} RGB needs {width * height * 3} bytes, got {rgb.Length}");
        Rgb = rgb;
        Width = width;
        Height = height;
        Info = info;
    }

    /// <summary>Pixels, row-major, 3 bytes (R, G, B) per pixel.</summary>
    public byte[] Rgb { get; }

    public int Width { get; }

    public int Height { get; }

    public GenerationInfo Info { get; }

    /// <summary>Writes a PNG with the prompt, seed, steps and model in text chunks; no partial file on failure.</summary>
    public void SavePng(string path) => PngFile.Write(path, Rgb, Width, Height, Info.ToTextChunks());
}

/// <summary>What produced an image; written into the PNG's text chunks.</summary>
public sealed record GenerationInfo(string Prompt, int Seed, int Steps, string Model, string Backend, string Decoder)
{
    public IReadOnlyList<KeyValuePair<string, string>> ToTextChunks() =>
    [
        new("prompt", Prompt),
        new("seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("model", Model),
        new("backend", Backend),
        new("decoder", Decoder),
        new("Software", "MixDQ SDK"),
    ];
}
