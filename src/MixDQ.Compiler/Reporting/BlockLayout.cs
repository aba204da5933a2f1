namespace MixDQ.Compiler.Reporting;

/// <summary>
/// Splits a diffusers module path into the block and module it belongs to, so the page can draw the network's real
/// structure: the block ends at the first numbered segment or at <c>mid_block</c> (<c>down_blocks.1</c>,
/// <c>text_model.encoder.layers.3</c>, <c>decoder.mid_block</c>); the module is the next numbered pair
/// (<c>resnets.0</c>) or the next segment (<c>self_attn</c>); an unnumbered top-level layer is its own block.
/// </summary>
public static class BlockLayout
{
    public static (string Block, string Module, string Local) Split(string path)
    {
        var parts = path.Split('.');
        int end = Array.FindIndex(parts, p => p == "mid_block" || IsNumber(p));
        if (end < 0) return (parts[0], "", string.Join('.', parts.Skip(1)) is { Length: > 0 } rest ? rest : parts[0]);
        string block = string.Join('.', parts.Take(end + 1));
        var tail = parts.Skip(end + 1).ToArray();
        if (tail.Length == 0) return (block, "", parts[^1]);
        int moduleLength = tail.Length > 2 && IsNumber(tail[1]) ? 2 : 1;
        if (tail.Length == moduleLength) return (block, "", string.Join('.', tail));
        return (block, string.Join('.', tail.Take(moduleLength)), string.Join('.', tail.Skip(moduleLength)));
    }

    /// <summary>Level of a UNet block in the U drawing: down blocks go deeper, the mid block is deepest, up blocks climb back.</summary>
    public static int Depth(string block, int downBlocks)
    {
        var parts = block.Split('.');
        if (parts.Length == 2 && parts[0] == "down_blocks" && int.TryParse(parts[1], out int d)) return d + 1;
        if (block == "mid_block") return downBlocks + 1;
        if (parts.Length == 2 && parts[0] == "up_blocks" && int.TryParse(parts[1], out int u)) return Math.Max(1, downBlocks - u);
        return 0;
    }

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);
}
