using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using SkiaSharp;

namespace MixDQ.Runtime.Imaging;

/// <summary>PNG reading and writing through SkiaSharp, plus the tEXt chunks Skia does not expose.</summary>
public static class PngFile
{
    /// <summary>
    /// Encodes RGB (H×W×3) as PNG, inserts one tEXt chunk per entry after IHDR and writes the file
    /// atomically (temp file, then move), so a failure leaves no partial output.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyList<KeyValuePair<string, string>>? text = null)
    {
        byte[] png = Encode(rgb, width, height, text);
        AtomicFile.WriteAllBytes(path, png);
    }

    public static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyList<KeyValuePair<string, string>>? text = null)
    {
        if (width <= 0 || height <= 0 || rgb.Length != width * height * 3)
            throw new MixDQException(ErrorCodes.ImageInvalid, $"an RGB image of {width}x{height} needs {width * height * 3} bytes, got {rgb.Length}");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var pixels = new byte[width * height * 4];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            pixels[j] = rgb[i];
            pixels[j + 1] = rgb[i + 1];
            pixels[j + 2] = rgb[i + 2];
            pixels[j + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new MixDQException(ErrorCodes.ImageInvalid, "PNG encoding failed");
        return InsertTextChunks(data.ToArray(), text ?? []);
    }

    /// <summary>Decodes a PNG (or any format Skia reads) to RGB bytes; alpha is dropped.</summary>
    public static (byte[] Rgb, int Width, int Height) Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read image: {e.Message}", path);
        }
        using var bitmap = SKBitmap.Decode(bytes)
            ?? throw new MixDQException(ErrorCodes.ImageInvalid, "not a decodable image", path);
        using var rgba = bitmap.Copy(SKColorType.Rgba8888)
            ?? throw new MixDQException(ErrorCodes.ImageInvalid, "cannot convert image to RGBA", path);
        int w = rgba.Width, h = rgba.Height;
        var src = rgba.GetPixelSpan();
        var rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = src[i];
            rgb[j + 1] = src[i + 1];
            rgb[j + 2] = src[i + 2];
        }
        return (rgb, w, h);
    }

    /// <summary>The tEXt chunks of a PNG file, in order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ReadTextChunks(byte[] png)
    {
        var result = new List<KeyValuePair<string, string>>();
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            if (len < 0 || pos + 12 + len > png.Length) break;
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            if (type == "tEXt")
            {
                var body = png.AsSpan(pos + 8, len);
                int nul = body.IndexOf((byte)0);
                if (nul > 0)
                    result.Add(new(Encoding.Latin1.GetString(body[..nul]), Encoding.Latin1.GetString(body[(nul + 1)..])));
            }
            pos += 12 + len;
        }
        return result;
    }

    private static byte[] InsertTextChunks(byte[] png, IReadOnlyList<KeyValuePair<string, string>> text)
    {
        if (text.Count == 0) return png;
        // Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC) = 33 bytes; text goes right after.
        const int afterIhdr = 33;
        using var ms = new MemoryStream(png.Length + 256);
        ms.Write(png, 0, afterIhdr);
        foreach (var (key, value) in text) WriteTextChunk(ms, key, value);
        ms.Write(png, afterIhdr, png.Length - afterIhdr);
        return ms.ToArray();
    }

    private static void WriteTextChunk(Stream s, string key, string value)
    {
        // tEXt is Latin-1; characters outside it are replaced so the chunk stays valid.
        byte[] body = [.. Latin1(key.Length > 79 ? key[..79] : key), 0, .. Latin1(value)];
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, body.Length);
        "tEXt"u8.CopyTo(header[4..]);
        s.Write(header);
        s.Write(body);
        var crc = new Crc32();
        crc.Append(header[4..]);
        crc.Append(body);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc.GetCurrentHashAsUInt32());
        s.Write(crcBytes);
    }

    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s.Select(c => c <= '\u00ff' ? c : '?').ToArray());
}
