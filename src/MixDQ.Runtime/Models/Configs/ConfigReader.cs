using System.Text.Json;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Models.Configs;

/// <summary>
/// Typed access to one JSON config object, with diffusers' rule for defaults: a key that is absent (or,
/// where diffusers treats it so, null) takes the default; a key that is present with the wrong type is
/// <see cref="ErrorCodes.ConfigInvalid"/> naming the field and the file, never silently defaulted.
/// </summary>
internal sealed class ConfigReader
{
    private readonly JsonElement _root;

    private ConfigReader(JsonElement root, string path)
    {
        _root = root;
        Path = path;
    }

    /// <summary>The file the JSON came from (for messages).</summary>
    public string Path { get; }

    /// <summary>Reads a config file: missing → <see cref="ErrorCodes.ConfigMissing"/>, unreadable → ConfigInvalid.</summary>
    public static string ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new MixDQException(ErrorCodes.ConfigMissing, $"config file '{path}' does not exist", path);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.ConfigInvalid, $"config file '{path}' cannot be read: {e.Message}", path, null, e);
        }
    }

    /// <summary>Parses <paramref name="json"/>; anything but a JSON object → ConfigInvalid.</summary>
    public static ConfigReader Parse(string json, string path)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.ConfigInvalid, $"config is not valid JSON: {e.Message}", path, null, e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.ConfigInvalid, $"config must be a JSON object, found {doc.RootElement.ValueKind}", path);
            return new ConfigReader(doc.RootElement.Clone(), path);
        }
    }

    public IEnumerable<JsonProperty> Properties => _root.EnumerateObject();

    public bool Has(string field) => _root.TryGetProperty(field, out _);

    /// <summary>True when the key is absent or JSON null.</summary>
    public bool IsAbsentOrNull(string field) => !_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null;

    public MixDQException Invalid(string field, string what) =>
        new(ErrorCodes.ConfigInvalid, $"config field '{field}' {what}", Path, field);

    public MixDQException Unsupported(string field, string value, string supported) =>
        new(ErrorCodes.ConfigUnsupportedValue, $"config field '{field}' has the unsupported value {value} (supported: {supported})", Path, field);

    /// <summary>A JSON rendering of the field's value for messages.</summary>
    public string Raw(string field) => _root.TryGetProperty(field, out var e) ? e.GetRawText() : "<absent>";

    public int Int(string field, int defaultValue) => IntOrNull(field) ?? defaultValue;

    public int RequiredInt(string field) => IntOrNull(field) ?? throw Invalid(field, "is required (an integer)");

    public int? IntOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        return AsInt(e, field);
    }

    public double Double(string field, double defaultValue) => DoubleOrNull(field) ?? defaultValue;

    public double? DoubleOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            throw Invalid(field, $"must be a number, found {e.GetRawText()}");
        return v;
    }

    public bool Bool(string field, bool defaultValue) => BoolOrNull(field) ?? defaultValue;

    public bool? BoolOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(field, $"must be true or false, found {e.GetRawText()}"),
        };
    }

    public string? StringOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.String) throw Invalid(field, $"must be a string, found {e.GetRawText()}");
        return e.GetString()!;
    }

    public string String(string field, string defaultValue) => StringOrNull(field) ?? defaultValue;

    public IReadOnlyList<int>? IntListOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(field, $"must be a list of integers, found {e.GetRawText()}");
        return e.EnumerateArray().Select(x => AsInt(x, field)).ToArray();
    }

    public IReadOnlyList<string>? StringListOrNull(string field)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(field, $"must be a list of strings, found {e.GetRawText()}");
        return e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String
            ? x.GetString()!
            : throw Invalid(field, $"must be a list of strings, found the element {x.GetRawText()}")).ToArray();
    }

    /// <summary>
    /// diffusers' <c>int | tuple[int]</c> fields: an integer repeated <paramref name="count"/> times, or a list
    /// of exactly <paramref name="count"/> integers. A nested list (per-layer values) is reported as unsupported.
    /// </summary>
    public IReadOnlyList<int> IntOrPerLevel(string field, int defaultValue, int count, string countSource)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null)
            return Enumerable.Repeat(defaultValue, count).ToArray();
        if (e.ValueKind == JsonValueKind.Number) return Enumerable.Repeat(AsInt(e, field), count).ToArray();
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(field, $"must be an integer or a list of integers, found {e.GetRawText()}");
        if (e.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Array))
            throw Unsupported(field, e.GetRawText(), "an integer or one integer per level; per-layer nested lists are not supported");
        var list = e.EnumerateArray().Select(x => AsInt(x, field)).ToArray();
        if (list.Length != count)
            throw Invalid(field, $"has {list.Length} entries but {countSource} has {count}");
        return list;
    }

    /// <summary>diffusers' <c>bool | tuple[bool]</c> fields, like <see cref="IntOrPerLevel"/>.</summary>
    public IReadOnlyList<bool> BoolOrPerLevel(string field, bool defaultValue, int count, string countSource)
    {
        if (!_root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null)
            return Enumerable.Repeat(defaultValue, count).ToArray();
        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return Enumerable.Repeat(e.ValueKind == JsonValueKind.True, count).ToArray();
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(field, $"must be true/false or a list of them, found {e.GetRawText()}");
        var list = e.EnumerateArray().Select(x => x.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(field, $"must be a list of true/false, found the element {x.GetRawText()}"),
        }).ToArray();
        if (list.Length != count)
            throw Invalid(field, $"has {list.Length} entries but {countSource} has {count}");
        return list;
    }

    /// <summary>The value kind of a present field (Undefined when absent).</summary>
    public JsonValueKind Kind(string field) => _root.TryGetProperty(field, out var e) ? e.ValueKind : JsonValueKind.Undefined;

    private int AsInt(JsonElement e, string field)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (e.TryGetInt32(out int i)) return i;
            // Python writes some integer fields as 1.0; accept whole numbers only.
            if (e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
        }
        throw Invalid(field, $"must be an integer, found {e.GetRawText()}");
    }

    /// <summary>Checks that every value of <paramref name="values"/> is positive, naming the field otherwise.</summary>
    public void RequirePositive(string field, IEnumerable<int> values)
    {
        foreach (int v in values)
            if (v <= 0) throw Invalid(field, $"must hold positive integers, found {v}");
    }

    public void RequirePositive(string field, int value)
    {
        if (value <= 0) throw Invalid(field, $"must be a positive integer, found {value}");
    }
}
