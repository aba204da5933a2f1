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

    /// <summary>Which attributes the prompt states.</summary>
    public PromptForm Form => TinyShapesScene.FormOf(Objects.Select(o => o.Expected));

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
/// <item>non-shapes have no class (<see cref="Blob.Shape"/> null, so the shape check fails): a bounding box
/// more elongated than <see cref="MaxAspect"/> (ellipses, bars), a best intersection-over-union below the class's
/// minimum (<see cref="MinTemplateIou"/>: rings, crosses, amorphous blobs), or a blob that matches the circle and
/// the square both at least <see cref="AmbiguousIou"/> (large octagons, rounded squares), or a circle or square
/// that is not symmetric (<see cref="MinMirrorIou"/>: lumpy blobs);</item>
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

    /// <summary>
    /// A blob whose bounding box is longer than this many times its width is no shape (every world shape has a
    /// square box: renders 1.00-1.09; generations of the shipped model up to 1.27; a 20x8 ellipse 2.5, a 3:1 bar 3.0).
    /// </summary>
    public const double MaxAspect = 1.3;

    /// <summary>
    /// A blob must match its best template at least this well to be that shape. Calibrated on validation
    /// generations (1 step, prompts of seeds 6 and 7, never the evaluation sets) and on renders: renders score
    /// circle 1.00, square 1.00, triangle 0.92-0.95; a ring 0.61-0.65, a plus sign 0.65-0.71 as circles.
    /// </summary>
    public static double MinTemplateIou(ShapeKind shape) => shape switch
    {
        ShapeKind.Circle => 0.85,
        ShapeKind.Square => 0.80,
        _ => 0.65, // the bounding-box triangle template is itself imperfect on small renders (0.92)
    };

    /// <summary>
    /// A large blob (<see cref="LargeExtent"/> px or more) that matches the circle and the square both at least this well
    /// is neither (an octagon with cut corners: 0.88 and 0.90 at 20 px); world circles and squares match the other
    /// template at most 0.79. Not applied to small blobs: at 12 px a generator's blurred square is as round as an octagon.
    /// </summary>
    public const double AmbiguousIou = 0.86;

    /// <summary>
    /// A circle or square must match its own mirror image (left-right and top-bottom, about the box centre) at least
    /// this well: lumpy amorphous blobs that happen to fill an ellipse do not (generations: 1st percentile 0.80).
    /// </summary>
    public const double MinMirrorIou = 0.80;

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

    /// <summary>A connected blob of one colour; <paramref name="Shape"/> is null when it is no world shape.</summary>
    internal sealed record Blob(ShapeColour Colour, int Area, int MinX, int MaxX, int MinY, int MaxY, ShapeKind? Shape, ShapeSize Size, double Iou)
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
        var ious = new double[TinyShapesWorld.Shapes.Count];
        var best = ShapeKind.Circle;
        foreach (var shape in TinyShapesWorld.Shapes)
        {
            ious[(int)shape] = InscribedIou(mask, members.Count, shape, minX, maxX, minY, maxY);
            if (ious[(int)shape] > ious[(int)best]) best = shape;
        }
        int width = maxX - minX + 1, height = maxY - minY + 1;
        var size = Math.Max(width, height) >= LargeExtent ? ShapeSize.Large : ShapeSize.Small;
        var shapeClass = IsShape(best, ious, width, height) && IsSymmetric(best, mask, minX, maxX, minY, maxY) ? best : (ShapeKind?)null;
        return new Blob((ShapeColour)label, members.Count, minX, maxX, minY, maxY, shapeClass, size, ious[(int)best]);
    }

    /// <summary>The blob is a world shape of class <paramref name="best"/>: square box, close template match, not both round and square.</summary>
    private static bool IsShape(ShapeKind best, double[] ious, int width, int height) =>
        Math.Max(width, height) <= MaxAspect * Math.Min(width, height)
        && ious[(int)best] >= MinTemplateIou(best)
        && !(Math.Max(width, height) >= LargeExtent && ious[(int)ShapeKind.Circle] >= AmbiguousIou && ious[(int)ShapeKind.Square] >= AmbiguousIou);

    /// <summary>Circles and squares are symmetric about both axes of their box (triangles, apex up, only left-right, which blur already bends).</summary>
    private static bool IsSymmetric(ShapeKind shape, bool[] mask, int minX, int maxX, int minY, int maxY) =>
        shape == ShapeKind.Triangle
        || (MirrorIou(mask, minX, maxX, minY, maxY, mirrorX: true) >= MinMirrorIou && MirrorIou(mask, minX, maxX, minY, maxY, mirrorX: false) >= MinMirrorIou);

    /// <summary>Intersection over union of a blob with its mirror image about the vertical (or horizontal) centre line of its box.</summary>
    private static double MirrorIou(bool[] mask, int minX, int maxX, int minY, int maxY, bool mirrorX)
    {
        int inter = 0, union = 0;
        for (int y = minY; y <= maxY; y++)
            for (int x = minX; x <= maxX; x++)
            {
                bool a = mask[y * N + x];
                bool b = mirrorX ? mask[y * N + (minX + maxX - x)] : mask[(minY + maxY - y) * N + x];
                if (a && b) inter++;
                if (a || b) union++;
            }
        return inter / (double)union;
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
