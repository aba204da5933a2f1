using System.Text;

namespace MixDQ.Evaluation.TinyShapes;

/// <summary>Which attributes every shape of a prompt states: the prompt forms of the evaluation sets.</summary>
public enum PromptForm
{
    /// <summary>Size and position of every shape ("a small red circle at the top left on a blue background").</summary>
    Full,

    /// <summary>Sizes only ("a small red circle on a blue background").</summary>
    SizeOnly,

    /// <summary>Positions only ("a red circle at the top left on a blue background").</summary>
    PositionOnly,

    /// <summary>Neither ("a red circle on a blue background").</summary>
    Bare,

    /// <summary>The shapes of a two-shape prompt state different attributes.</summary>
    Mixed,
}

/// <summary>One shape of a scene. Size and position are null when a prompt does not state them.</summary>
public sealed record ShapeSpec(ShapeKind Shape, ShapeColour Colour, ShapeSize? Size, GridPosition? Position)
{
    /// <summary>The object phrase of the caption grammar, e.g. <c>small red circle at the top left</c>.</summary>
    public string Phrase()
    {
        var sb = new StringBuilder();
        if (Size is { } size) sb.Append(TinyShapesWorld.Word(size)).Append(' ');
        sb.Append(TinyShapesWorld.Word(Colour)).Append(' ').Append(TinyShapesWorld.Word(Shape));
        if (Position is { } position) sb.Append(" at the ").Append(TinyShapesWorld.Word(position));
        return sb.ToString();
    }
}

/// <summary>A Tiny Shapes scene: a background colour and one or two shapes, in caption order.</summary>
public sealed record TinyShapesScene(ShapeColour Background, IReadOnlyList<ShapeSpec> Objects)
{
    /// <summary>The caption of the scene in the world's grammar.</summary>
    public string Caption() =>
        "a " + string.Join(" and a ", Objects.Select(o => o.Phrase())) + " on a " + TinyShapesWorld.Word(Background) + " background";

    /// <summary>Which attributes every shape states.</summary>
    public PromptForm Form => FormOf(Objects);

    /// <summary>The prompt form of a list of shapes (<see cref="PromptForm.Mixed"/> when they differ).</summary>
    public static PromptForm FormOf(IEnumerable<ShapeSpec> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var forms = objects.Select(o => (o.Size, o.Position) switch
        {
            (not null, not null) => PromptForm.Full,
            (not null, null) => PromptForm.SizeOnly,
            (null, not null) => PromptForm.PositionOnly,
            _ => PromptForm.Bare,
        }).Distinct().ToList();
        return forms.Count == 1 ? forms[0] : PromptForm.Mixed;
    }

    /// <summary>True when every shape states its size and position, so the caption determines the image.</summary>
    public bool IsFullySpecified => Objects.All(o => o.Size is not null && o.Position is not null);

    /// <summary>
    /// A random fully specified scene with <paramref name="objectCount"/> (1 or 2) shapes: distinct colours for
    /// background and shapes, distinct positions. Not the Python sampler's sequence; for tests and statistics.
    /// </summary>
    public static TinyShapesScene Random(Random rng, int objectCount)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (objectCount is < 1 or > 2) throw new ArgumentOutOfRangeException(nameof(objectCount), "1 or 2 shapes");
        var colours = TinyShapesWorld.Colours.OrderBy(_ => rng.Next()).Take(objectCount + 1).ToArray();
        var positions = TinyShapesWorld.Positions.OrderBy(_ => rng.Next()).Take(objectCount).ToArray();
        var objects = new ShapeSpec[objectCount];
        for (int k = 0; k < objectCount; k++)
        {
            objects[k] = new ShapeSpec(
                TinyShapesWorld.Shapes[rng.Next(TinyShapesWorld.Shapes.Count)],
                colours[k + 1],
                rng.Next(2) == 0 ? ShapeSize.Small : ShapeSize.Large,
                positions[k]);
        }
        return new TinyShapesScene(colours[0], objects);
    }
}
