using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.TinyShapes;

/// <summary>What the judge found for one shape of the prompt. Checks of attributes the prompt does not state are null.</summary>
public sealed record ObjectJudgement(
    ShapeSpec Expected,
    bool Found,
    ShapeKind? DetectedShape,
    ShapeColour? DetectedColour,
    ShapeSize? DetectedSize,
    GridPosition? DetectedPosition,
    bool ShapeCorrect,
    bool ColourCorrect,
    bool? SizeCorrect,
    bool? PositionCorrect)
{
    /// <summary>All stated attributes are right.</summary>
    public bool Correct => Found && ShapeCorrect && ColourCorrect && SizeCorrect != false && PositionCorrect != false;
}

/// <summary>The judge's verdict on one image.</summary>
public sealed record JudgeResult(
    string Prompt,
    ShapeColour ExpectedBackground,
    ShapeColour? DetectedBackground,
    int ExpectedObjectCount,
    int DetectedObjectCount,
    IReadOnlyList<ObjectJudgement> Objects)
{
    public bool BackgroundCorrect => DetectedBackground == ExpectedBackground;

    /// <summary>The image holds exactly as many shapes as the prompt names.</summary>
    public bool CountCorrect => DetectedObjectCount == ExpectedObjectCount;

    /// <summary>Background, count and every stated attribute of every shape are right.</summary>
    public bool Correct => BackgroundCorrect && CountCorrect && Objects.All(o => o.Correct);
}

/// <summary>
/// An analytic judge of prompt/image alignment in the Tiny Shapes world, working from pixels only:
/// <list type="number">
/// <item>label every pixel with its nearest palette colour (squared RGB distance; pixels farther than
/// <see cref="MaxColourDistance"/> from every palette colour stay unlabelled, e.g. blended edges);</item>
/// <item>the background is the most frequent label;</item>
/// <item>shapes are the 4-connected components of each other label that hold at least
/// <see cref="MinCorePixels"/> core pixels (pixels whose 4 neighbours share the label), which drops thin
/// blended rims and specks;</item>
/// <item>class from geometry: the ideal square, circle and apex-up triangle inscribed in the blob's bounding box
/// are compared with the blob; the highest intersection-over-union wins (scale-free, so blurred or shrunken
/// edges do not change the class);</item>
/// <item>size: large when the larger bounding-box side is at least <see cref="LargeExtent"/> px;
/// position: grid cell of the bounding-box centre (cells of 64/3 px; every world shape is centred on its box).</item>
/// </list>
/// Prompt shapes are matched to detected shapes by colour (the grammar forbids two shapes of one colour);
/// a prompt shape whose colour is absent is matched to the largest unmatched shape, with its colour wrong.
/// </summary>
public static class TinyShapesJudge
{
    /// <summary>Pixels farther than this (Euclidean RGB) from every palette colour are not labelled.</summary>
    public const int MaxColourDistance = 60;

    /// <summary>Minimum number of core pixels for a component to count as a shape.</summary>
    public const int MinCorePixels = 8;

    /// <summary>A shape whose larger bounding-box side has at least this many pixels is large (rendered: 11-12 small, 19-20 large).</summary>
    public const int LargeExtent = 16;

    private const int N = TinyShapesWorld.ImageSize;

    /// <summary>Scores a 64x64 RGB HWC image against a prompt of the Tiny Shapes grammar.</summary>
    /// <exception cref="MixDQException">MIXDQ080 for a wrong image size; MIXDQ081 for a prompt outside the grammar.</exception>
    public static JudgeResult Score(ReadOnlySpan<byte> rgbHwc, int width, int height, string prompt)
    {
        if (width != N || height != N || rgbHwc.Length != N * N * 3)
        {
            throw new MixDQException(ErrorCodes.JudgeImageSize,
                $"The Tiny Shapes judge needs a {N}x{N} RGB image ({N * N * 3} bytes); got {width}x{height} with {rgbHwc.Length} bytes.",
                item: prompt);
        }
        var scene = TinyShapesGrammar.Parse(prompt);
        var labels = LabelPixels(rgbHwc);
        var background = DominantLabel(labels);
        var blobs = background is null ? [] : FindBlobs(labels, (int)background.Value);
        var judgements = Match(scene, blobs);
        return new JudgeResult(prompt, scene.Background, background, scene.Objects.Count, blobs.Count, judgements);
    }

    internal static sbyte[] LabelPixels(ReadOnlySpan<byte> rgb)
    {
        var labels = new sbyte[N * N];
        var colours = TinyShapesWorld.Colours;
        for (int p = 0; p < labels.Length; p++)
        {
            int r = rgb[3 * p], g = rgb[3 * p + 1], b = rgb[3 * p + 2];
            int best = -1, bestD = MaxColourDistance * MaxColourDistance + 1;
            for (int c = 0; c < colours.Count; c++)
            {
                var q = TinyShapesWorld.Rgb(colours[c]);
                int d = (r - q.R) * (r - q.R) + (g - q.G) * (g - q.G) + (b - q.B) * (b - q.B);
                if (d < bestD) { bestD = d; best = c; }
            }
            labels[p] = (sbyte)best;
        }
        return labels;
    }

    private static ShapeColour? DominantLabel(sbyte[] labels)
    {
        var counts = new int[TinyShapesWorld.Colours.Count];
        foreach (var l in labels) if (l >= 0) counts[l]++;
        int best = 0;
        for (int c = 1; c < counts.Length; c++) if (counts[c] > counts[best]) best = c;
        return counts[best] == 0 ? null : (ShapeColour)best;
    }

    internal sealed record Blob(ShapeColour Colour, int Area, int MinX, int MaxX, int MinY, int MaxY, ShapeKind Shape, ShapeSize Size, double Iou)
    {
        public GridPosition Position
        {
            get
            {
                // Bounding-box centre (MinX + MaxX + 1) / 2 in pixel units; cells are 64/3 px wide.
                int column = Math.Clamp((int)((MinX + MaxX + 1) / 2.0 / (N / 3.0)), 0, 2);
                int row = Math.Clamp((int)((MinY + MaxY + 1) / 2.0 / (N / 3.0)), 0, 2);
                return TinyShapesWorld.FromCell(column, row);
            }
        }
    }

    internal static List<Blob> FindBlobs(sbyte[] labels, int background)
    {
        var blobs = new List<Blob>();
        var seen = new bool[N * N];
        var stack = new Stack<int>();
        var members = new List<int>();
        for (int start = 0; start < labels.Length; start++)
        {
            int label = labels[start];
            if (seen[start] || label < 0 || label == background) continue;
            members.Clear();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop();
                members.Add(p);
                int x = p % N, y = p / N;
                if (x > 0) Visit(p - 1);
                if (x < N - 1) Visit(p + 1);
                if (y > 0) Visit(p - N);
                if (y < N - 1) Visit(p + N);
            }
            var blob = Describe(labels, members, label);
            if (blob is not null) blobs.Add(blob);

            void Visit(int q)
            {
                if (!seen[q] && labels[q] == label) { seen[q] = true; stack.Push(q); }
            }
        }
        // Stable (ties keep raster discovery order), like the Python port's sort.
        return blobs.OrderByDescending(b => b.Area).ToList();
    }

    private static Blob? Describe(sbyte[] labels, List<int> members, int label)
    {
        int core = 0, minX = N, maxX = -1, minY = N, maxY = -1;
        foreach (int p in members)
        {
            int x = p % N, y = p / N;
            if (x > 0 && x < N - 1 && y > 0 && y < N - 1 &&
                labels[p - 1] == label && labels[p + 1] == label && labels[p - N] == label && labels[p + N] == label) core++;
            minX = Math.Min(minX, x); maxX = Math.Max(maxX, x);
            minY = Math.Min(minY, y); maxY = Math.Max(maxY, y);
        }
        if (core < MinCorePixels) return null;
        var mask = new bool[N * N];
        foreach (int p in members) mask[p] = true;
        var best = (Shape: ShapeKind.Circle, Iou: -1.0);
        foreach (var shape in TinyShapesWorld.Shapes)
        {
            double iou = InscribedIou(mask, members.Count, shape, minX, maxX, minY, maxY);
            if (iou > best.Iou) best = (shape, iou);
        }
        var size = Math.Max(maxX - minX + 1, maxY - minY + 1) >= LargeExtent ? ShapeSize.Large : ShapeSize.Small;
        return new Blob((ShapeColour)label, members.Count, minX, maxX, minY, maxY, best.Shape, size, best.Iou);
    }

    /// <summary>
    /// Intersection over union of a blob with the ideal shape inscribed in its bounding box (the full box, the
    /// inscribed ellipse, the apex-up inscribed triangle), in doubled integer coordinates relative to the box centre.
    /// Scale-free, so edges shrunk or grown by blur do not change the class.
    /// </summary>
    private static double InscribedIou(bool[] mask, int area, ShapeKind shape, int minX, int maxX, int minY, int maxY)
    {
        long cx2 = minX + maxX + 1, cy2 = minY + maxY + 1;
        long rx = maxX - minX + 1, ry = maxY - minY + 1; // doubled half-extents
        int inter = 0, template = 0;
        for (int y = minY; y <= maxY; y++)
        {
            for (int x = minX; x <= maxX; x++)
            {
                long px = 2 * x + 1 - cx2, py = 2 * y + 1 - cy2;
                bool inside = shape switch
                {
                    ShapeKind.Square => true,
                    ShapeKind.Circle => px * px * ry * ry + py * py * rx * rx <= rx * rx * ry * ry,
                    _ => 2 * Math.Abs(px) * ry <= (py + ry) * rx,
                };
                if (!inside) continue;
                template++;
                if (mask[y * N + x]) inter++;
            }
        }
        return inter / (double)(area + template - inter);
    }

    private static List<ObjectJudgement> Match(TinyShapesScene scene, List<Blob> blobs)
    {
        var used = new bool[blobs.Count];
        var assigned = new Blob?[scene.Objects.Count];
        // Colour matches first, so a missing colour never steals the blob of another prompt shape.
        for (int k = 0; k < scene.Objects.Count; k++)
        {
            int i = blobs.FindIndex(b => b.Colour == scene.Objects[k].Colour);
            if (i >= 0 && !used[i]) { used[i] = true; assigned[k] = blobs[i]; }
        }
        for (int k = 0; k < scene.Objects.Count; k++)
        {
            if (assigned[k] is not null) continue;
            int i = Array.IndexOf(used, false);
            if (i >= 0) { used[i] = true; assigned[k] = blobs[i]; }
        }
        var result = new List<ObjectJudgement>(scene.Objects.Count);
        for (int k = 0; k < scene.Objects.Count; k++)
        {
            var want = scene.Objects[k];
            var blob = assigned[k];
            if (blob is null)
            {
                result.Add(new ObjectJudgement(want, false, null, null, null, null, false, false,
                    want.Size is null ? null : false, want.Position is null ? null : false));
                continue;
            }
            result.Add(new ObjectJudgement(want, true, blob.Shape, blob.Colour, blob.Size, blob.Position,
                blob.Shape == want.Shape, blob.Colour == want.Colour,
                want.Size is null ? null : blob.Size == want.Size,
                want.Position is null ? null : blob.Position == want.Position));
        }
        return result;
    }
}
