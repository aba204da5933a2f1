using MixDQ.Evaluation.TinyShapes;
using Xunit.Abstractions;

namespace MixDQ.Evaluation.Tests;

/// <summary>
/// The judge finds a world shape only where one is: every render of every shape, size and position is right,
/// and blobs that are no world shape (what a degraded, e.g. quantized, generator draws) have no class.
/// </summary>
public class JudgeNonShapeTests
{
    private readonly ITestOutputHelper _output;

    public JudgeNonShapeTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Every_shape_size_and_position_render_is_judged_right_in_every_prompt_form()
    {
        var failures = new List<string>();
        int judged = 0;
        foreach (var shape in TinyShapesWorld.Shapes)
            foreach (var size in new[] { ShapeSize.Small, ShapeSize.Large })
                foreach (var position in TinyShapesWorld.Positions)
                    foreach (var (colour, background) in new[] { (ShapeColour.Red, ShapeColour.Blue), (ShapeColour.White, ShapeColour.Yellow), (ShapeColour.Black, ShapeColour.Purple) })
                    {
                        var scene = new TinyShapesScene(background, [new ShapeSpec(shape, colour, size, position)]);
                        var image = TinyShapesRenderer.Render(scene);
                        foreach (var stated in new[] { scene.Objects[0], scene.Objects[0] with { Size = null }, scene.Objects[0] with { Position = null }, scene.Objects[0] with { Size = null, Position = null } })
                        {
                            var prompt = new TinyShapesScene(background, [stated]).Caption();
                            var r = TinyShapesJudge.Score(image, 64, 64, prompt);
                            judged++;
                            if (!r.Correct || r.Objects[0].DetectedShape != shape) failures.Add(prompt);
                        }
                    }
        Assert.Equal(3 * 2 * 9 * 3 * 4, judged);
        Assert.True(failures.Count == 0, string.Join(" | ", failures.Take(8)));
    }

    public static TheoryData<string> NonShapes => new(NonShapeMasks.Keys);

    [Theory]
    [MemberData(nameof(NonShapes))]
    public void A_non_shape_is_no_shape_whatever_the_prompt_names(string name)
    {
        var image = Paint(NonShapeMasks[name], ShapeColour.Red, ShapeColour.Blue);
        foreach (var shape in TinyShapesWorld.Shapes)
        {
            var r = TinyShapesJudge.Score(image, 64, 64, $"a red {TinyShapesWorld.Word(shape)} on a blue background");
            var o = Assert.Single(r.Objects);
            Assert.True(o.Found, name);
            Assert.True(o.ColourCorrect, name);
            Assert.Null(o.DetectedShape);
            Assert.False(o.ShapeCorrect);
            Assert.False(r.Correct);
        }
    }

    [Fact]
    public void Random_amorphous_blobs_are_almost_never_a_shape()
    {
        var rng = new Random(11);
        int total = 300, classified = 0;
        var counts = new Dictionary<ShapeKind, int>();
        for (int i = 0; i < total; i++)
        {
            var image = Paint(RandomBlob(rng), ShapeColour.Green, ShapeColour.White);
            // The largest green part (a union may fall apart; every part is judged the same way).
            var blob = TinyShapesJudge.FindBlobs(TinyShapesJudge.LabelPixels(image), (int)ShapeColour.White).FirstOrDefault(b => b.Colour == ShapeColour.Green);
            if (blob?.Shape is { } kind)
            {
                classified++;
                counts[kind] = counts.GetValueOrDefault(kind) + 1;
            }
        }
        // Measured 0.05 with these thresholds (the old judge, best template with no minimum, classed nearly all of them).
        _output.WriteLine($"random blobs classified as a shape: {classified}/{total} ({string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"))})");
        Assert.True(classified <= 0.1 * total, $"{classified}/{total} random blobs passed as a shape");
    }

    /// <summary>Non-shapes at the world's sizes (doubled coordinates around the image centre, R = 2r).</summary>
    private static readonly Dictionary<string, Func<int, int, bool>> NonShapeMasks = new()
    {
        ["ellipse 20x8"] = (px, py) => px * px * 64 + py * py * 400 <= 400 * 64,
        ["ring r10"] = (px, py) => px * px + py * py <= 400 && px * px + py * py > 144,
        ["ring r6"] = (px, py) => px * px + py * py <= 144 && px * px + py * py > 49,
        ["plus r10"] = (px, py) => (Math.Abs(px) <= 20 && Math.Abs(py) <= 7) || (Math.Abs(py) <= 20 && Math.Abs(px) <= 7),
        ["plus r6"] = (px, py) => (Math.Abs(px) <= 12 && Math.Abs(py) <= 4) || (Math.Abs(py) <= 12 && Math.Abs(px) <= 4),
        ["bar 20x6"] = (px, py) => Math.Abs(px) <= 20 && Math.Abs(py) <= 6,
        ["bar 6x16"] = (px, py) => Math.Abs(px) <= 6 && Math.Abs(py) <= 16,
        // Octagon in a 20 px box, corners cut along |x|+|y| <= 1.5 R (a regular one, 1.414 R, stays within a
        // generator's blur of a circle at this size: circle IoU 0.93, and is still classed a circle).
        ["octagon r10"] = (px, py) => Math.Abs(px) <= 20 && Math.Abs(py) <= 20 && Math.Abs(px) + Math.Abs(py) <= 30,
        ["diamond r10"] = (px, py) => Math.Abs(px) + Math.Abs(py) <= 20,
        ["semicircle r10"] = (px, py) => px * px + py * py <= 400 && py >= 0,
        ["apex-down triangle r10"] = (px, py) => -py <= 20 && 2 * Math.Abs(px) <= -py + 20,
    };

    private static Func<int, int, bool> RandomBlob(Random rng)
    {
        // A chain of 2-5 random ellipses (half-axes 2-8 px), each centred on the rim of the one before, so the
        // union is one connected, amorphous blob.
        int n = rng.Next(2, 6);
        var parts = new (double X, double Y, double A, double B)[n];
        for (int k = 0; k < n; k++)
        {
            double a = 4 + rng.NextDouble() * 12, b = 4 + rng.NextDouble() * 12, angle = 2 * Math.PI * rng.NextDouble();
            parts[k] = k == 0 ? (0, 0, a, b)
                : (parts[k - 1].X + 0.8 * parts[k - 1].A * Math.Cos(angle), parts[k - 1].Y + 0.8 * parts[k - 1].B * Math.Sin(angle), a, b);
        }
        return (px, py) => parts.Any(e => Math.Pow((px - e.X) / e.A, 2) + Math.Pow((py - e.Y) / e.B, 2) <= 1);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A flat image: the mask (a test on doubled coordinates about the image centre) in one colour on another.</summary>
    private static byte[] Paint(Func<int, int, bool> inside, ShapeColour colour, ShapeColour background)
    {
        var image = new byte[TinyShapesWorld.ImageBytes];
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
            {
                var rgb = TinyShapesWorld.Rgb(inside(2 * x + 1 - 64, 2 * y + 1 - 64) ? colour : background);
                int p = (y * 64 + x) * 3;
                (image[p], image[p + 1], image[p + 2]) = (rgb.R, rgb.G, rgb.B);
            }
        return image;
    }
}
