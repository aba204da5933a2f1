using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.TinyShapes;

/// <summary>
/// Parser of the Tiny Shapes caption grammar (the same grammar as <c>tools/tiny-shapes/world.py</c>):
/// <code>
/// caption  := "a " object [ " and a " object ] " on a " colour " background"
/// object   := [ size " " ] colour " " shape [ " at the " position ]
/// size     := small | large
/// colour   := red | green | blue | yellow | white | black | purple | orange
/// shape    := circle | square | triangle
/// position := top left | top | top right | left | center | right | bottom left | bottom | bottom right
/// </code>
/// Lower-case ASCII words separated by single spaces, no punctuation. Shape colours must differ from the
/// background; two shapes must differ in colour and (when stated) position. Anything else is rejected with
/// <see cref="ErrorCodes.JudgePromptGrammar"/>.
/// </summary>
public static class TinyShapesGrammar
{
    /// <summary>Parses a caption; throws <see cref="MixDQException"/> (MIXDQ081) outside the grammar.</summary>
    public static TinyShapesScene Parse(string caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        var w = caption.Split(' ');
        if (w.Any(x => x.Length == 0)) throw Error(caption, "empty word (double, leading or trailing space)");
        if (w.Length < 6 || w[0] != "a" || w[^1] != "background" || w[^4] != "on" || w[^3] != "a")
            throw Error(caption, "expected 'a <object> [and a <object>] on a <colour> background'");
        if (!TinyShapesWorld.TryColour(w[^2], out var background)) throw Error(caption, $"unknown background colour '{w[^2]}'");

        var body = w[1..^4];
        var objects = new List<ShapeSpec>(2);
        int i = 0;
        while (true)
        {
            objects.Add(ParseObject(caption, body, ref i));
            if (i == body.Length) break;
            if (objects.Count == 2 || i + 1 >= body.Length || body[i] != "and" || body[i + 1] != "a")
                throw Error(caption, $"unexpected word '{body[i]}'");
            i += 2;
        }
        var scene = new TinyShapesScene(background, objects);
        CheckConstraints(caption, scene);
        return scene;
    }

    /// <summary>True when <paramref name="caption"/> is in the grammar.</summary>
    public static bool TryParse(string caption, out TinyShapesScene? scene)
    {
        try
        {
            scene = Parse(caption);
            return true;
        }
        catch (MixDQException)
        {
            scene = null;
            return false;
        }
    }

    private static ShapeSpec ParseObject(string caption, string[] w, ref int i)
    {
        ShapeSize? size = null;
        if (i < w.Length && TinyShapesWorld.TrySize(w[i], out var s)) { size = s; i++; }
        if (i >= w.Length || !TinyShapesWorld.TryColour(w[i], out var colour)) throw Error(caption, "expected a colour");
        i++;
        if (i >= w.Length || !TinyShapesWorld.TryShape(w[i], out var shape)) throw Error(caption, "expected a shape");
        i++;
        GridPosition? position = null;
        if (i + 1 < w.Length && w[i] == "at" && w[i + 1] == "the")
        {
            i += 2;
            if (i + 1 < w.Length && TinyShapesWorld.TryPosition(w[i] + " " + w[i + 1], out var two)) { position = two; i += 2; }
            else if (i < w.Length && TinyShapesWorld.TryPosition(w[i], out var one)) { position = one; i++; }
            else throw Error(caption, "expected a position");
        }
        return new ShapeSpec(shape, colour, size, position);
    }

    private static void CheckConstraints(string caption, TinyShapesScene scene)
    {
        if (scene.Objects.Any(o => o.Colour == scene.Background)) throw Error(caption, "a shape has the background colour");
        if (scene.Objects.Count == 2)
        {
            var (a, b) = (scene.Objects[0], scene.Objects[1]);
            if (a.Colour == b.Colour) throw Error(caption, "two shapes of the same colour");
            if (a.Position is not null && a.Position == b.Position) throw Error(caption, "two shapes at the same position");
        }
    }

    private static MixDQException Error(string caption, string why) =>
        new(ErrorCodes.JudgePromptGrammar, $"Prompt is outside the Tiny Shapes grammar: {why}.", item: caption);
}
