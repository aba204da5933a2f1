using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.IO;

/// <summary>Every defect the format defines, each with its code, the file and (where there is one) the tensor.</summary>
public sealed class SafetensorsValidationTests : IDisposable
{
    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public void Dispose() => _dir.Dispose();

    private string Raw(string json, byte[] data, ulong? headerLength = null)
    {
        string path = _dir.File(Guid.NewGuid().ToString("N")[..8] + ".safetensors");
        RawSafetensors.Write(path, json, data, headerLength);
        return path;
    }

    private static void Fails(string code, string path, string? tensor = null) =>
        RawSafetensors.AssertFails(code, path, tensor, () => SafetensorsFile.Open(path).Dispose());

    private const string Ok = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    [Fact]
    public void A_well_formed_handmade_file_opens()
    {
        string path = Raw("{" + Ok + "}", new byte[8]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([0f, 0f], file.ReadFloat32("a").Data);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void File_shorter_than_8_bytes(int length)
    {
        string path = _dir.File($"short{length}.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        Fails(ErrorCodes.FileTruncated, path);
    }

    [Fact]
    public void Missing_file_is_unreadable()
    {
        string path = _dir.File("none.safetensors");
        Fails(ErrorCodes.FileUnreadable, path);
    }

    [Fact]
    public void Header_length_larger_than_the_file()
    {
        string path = Raw("{" + Ok + "}", new byte[8], headerLength: 1000);
        var e = Assert.Throws<MixDQException>(() => SafetensorsFile.Open(path));
        Assert.Equal(ErrorCodes.HeaderLengthInvalid, e.Code);
        Assert.Equal(path, e.File);
    }

    [Fact]
    public void Header_length_over_the_100_MB_limit()
    {
        string path = Raw("{}", [], headerLength: 100_000_001);
        Fails(ErrorCodes.HeaderLengthInvalid, path);
    }

    [Fact]
    public void Header_length_with_the_top_bit_set_is_not_read_as_negative()
    {
        string path = Raw("{}", [], headerLength: 0x8000_0000_0000_0010);
        Fails(ErrorCodes.HeaderLengthInvalid, path);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"a\": {\"dtype\": \"F32\",")]
    [InlineData("")]
    [InlineData("{} {}")]
    [InlineData("{}x")]
    [InlineData("{" + Ok + ",}")]
    [InlineData("{/*c*/}")]
    [InlineData("{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\udc00\"}}")]
    public void Header_that_is_not_json(string json)
    {
        Fails(ErrorCodes.HeaderNotJson, Raw(json, []));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    public void Header_that_is_json_but_not_an_object(string json)
    {
        string path = Raw(json, []);
        var e = RawSafetensors.AssertFails(ErrorCodes.HeaderNotJson, path, null, () => SafetensorsFile.Open(path));
        Assert.Contains("object", e.Message);
    }

    [Fact]
    public void Header_that_is_not_utf8()
    {
        string path = _dir.File("latin.safetensors");
        RawSafetensors.WriteBytes(path, [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []);
        Fails(ErrorCodes.HeaderNotJson, path);
    }

    [Fact]
    public void Trailing_space_padding_and_whitespace_are_tolerated()
    {
        string path = Raw("{ " + Ok + " }" + new string(' ', 13), new byte[8]);
        using var file = SafetensorsFile.Open(path);
        Assert.Single(file.Tensors);
    }

    [Theory]
    [InlineData("{\"shape\":[2],\"data_offsets\":[0,8]}", "'dtype' is missing")]
    [InlineData("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}", "'shape' is missing")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[2]}", "'data_offsets' is missing")]
    [InlineData("{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}", "'dtype' must be a string")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}", "'shape' must be an array")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}", "integers only")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}", "integers only")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}", "negative dimension")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"a\":0}}", "must be an array")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}", "exactly 2 values")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}", "exactly 2 values")]
    [InlineData("{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", "'dtype' appears twice")]
    [InlineData("[1, 2]", "must be an object")]
    [InlineData("\"F32\"", "must be an object")]
    public void Entry_with_missing_fields_or_wrong_types(string entry, string expectedText)
    {
        string path = Raw("{\"t.weight\":" + entry + "}", new byte[8]);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorEntryInvalid, path, "t.weight", () => SafetensorsFile.Open(path));
        Assert.Contains(expectedText, e.Message);
    }

    [Fact]
    public void Unknown_fields_in_an_entry_are_ignored()
    {
        string path = Raw("{\"a\":{\"extra\":{\"x\":[1,{}]},\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        using var file = SafetensorsFile.Open(path);
        Assert.True(file.TryGetInfo("a", out _));
    }

    [Theory]
    [InlineData("F8_E4M3")]
    [InlineData("U16")]
    [InlineData("f32")]
    [InlineData("1")]
    [InlineData("")]
    public void Unknown_dtype(string dtype)
    {
        string path = Raw("{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        var e = RawSafetensors.AssertFails(ErrorCodes.UnknownDType, path, "t", () => SafetensorsFile.Open(path));
        Assert.Contains($"'{dtype}'", e.Message);
    }

    [Theory]
    [InlineData("[2]", "[0,4]")]       // 2 x F32 needs 8 bytes
    [InlineData("[3,2]", "[0,8]")]
    [InlineData("[]", "[0,8]")]       // scalar needs 4
    [InlineData("[0]", "[0,4]")]
    public void Byte_length_not_matching_the_shape(string shape, string offsets)
    {
        string path = Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}", new byte[64]);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorOffsetsInvalid, path, "t", () => SafetensorsFile.Open(path));
        Assert.Contains("needs", e.Message);
    }

    [Theory]
    [InlineData("[0,12]", 8)]    // runs past the data section
    [InlineData("[8,16]", 8)]    // starts at the end
    [InlineData("[8,0]", 8)]     // begin after end
    [InlineData("[-8,0]", 8)]    // negative
    public void Offsets_out_of_range(string offsets, int dataLength)
    {
        string path = Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}", new byte[dataLength]);
        RawSafetensors.AssertFails(ErrorCodes.TensorOffsetsInvalid, path, "t", () => SafetensorsFile.Open(path));
    }

    [Fact]
    public void Huge_shape_does_not_overflow_silently()
    {
        string path = Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", new byte[4]);
        RawSafetensors.AssertFails(ErrorCodes.TensorEntryInvalid, path, "t", () => SafetensorsFile.Open(path));
    }

    [Fact]
    public void Overlapping_tensors()
    {
        string path = Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorOverlap, path, "b", () => SafetensorsFile.Open(path));
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void A_tensor_inside_another_overlaps_even_when_listed_first()
    {
        string path = Raw("{\"inner\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},\"outer\":{\"dtype\":\"U8\",\"shape\":[12],\"data_offsets\":[0,12]}}", new byte[12]);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorOverlap, path, "inner", () => SafetensorsFile.Open(path));
        Assert.Contains("'outer'", e.Message);
    }

    [Fact]
    public void Gaps_between_tensors_and_out_of_order_entries_are_accepted()
    {
        string path = Raw("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
            [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
        Assert.Equal([3f, 4f], file.ReadFloat32("b").Data);
    }

    [Fact]
    public void Duplicate_tensor_names()
    {
        string path = Raw("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        var e = RawSafetensors.AssertFails(ErrorCodes.DuplicateTensor, path, "w", () => SafetensorsFile.Open(path));
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void Duplicate_names_written_with_different_escapes_are_still_duplicates()
    {
        string path = Raw("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"\\u0077\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        RawSafetensors.AssertFails(ErrorCodes.DuplicateTensor, path, "w", () => SafetensorsFile.Open(path));
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"n\":1}}", "__metadata__.n")]
    [InlineData("{\"__metadata__\":[\"x\"]}", "__metadata__")]
    [InlineData("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", "__metadata__.k")]
    public void Metadata_must_be_a_string_map(string json, string item)
    {
        string path = Raw(json, []);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorEntryInvalid, path, null, () => SafetensorsFile.Open(path));
        Assert.Equal(item, e.Item);
    }

    [Fact]
    public void Null_metadata_is_empty_metadata()
    {
        using var file = SafetensorsFile.Open(Raw("{\"__metadata__\":null}", []));
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Missing_tensor_name_is_TensorNotFound_naming_file_and_tensor()
    {
        string path = Raw("{" + Ok + "}", new byte[8]);
        using var file = SafetensorsFile.Open(path);
        var e = RawSafetensors.AssertFails(ErrorCodes.TensorNotFound, path, "unet.missing", () => file.ReadFloat32("unet.missing"));
        Assert.Contains("unet.missing", e.ToDiagnosticLine());
    }

    [Fact]
    public void Diagnostic_line_names_code_file_and_tensor()
    {
        string path = Raw("{\"t\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        var e = Assert.Throws<MixDQException>(() => SafetensorsFile.Open(path));
        string line = e.ToDiagnosticLine();
        Assert.StartsWith("error MIXDQ007:", line);
        Assert.Contains(path, line);
        Assert.Contains("at: t", line);
    }

    [Fact]
    public void A_failed_open_releases_the_file()
    {
        string path = Raw("{\"t\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        Assert.Throws<MixDQException>(() => SafetensorsFile.Open(path));
        // Exclusive access succeeds only when no handle of the failed open is left.
        using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
        File.Delete(path);
        Assert.False(File.Exists(path));
    }
}
