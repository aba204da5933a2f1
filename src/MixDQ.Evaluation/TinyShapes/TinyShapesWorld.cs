namespace MixDQ.Evaluation.TinyShapes;

/// <summary>The shape classes of the Tiny Shapes world.</summary>
public enum ShapeKind { Circle, Square, Triangle }

/// <summary>The flat colours of the Tiny Shapes world (shapes and backgrounds).</summary>
public enum ShapeColour { Red, Green, Blue, Yellow, White, Black, Purple, Orange }

/// <summary>The two shape sizes: half-size 6 px (small) and 10 px (large).</summary>
public enum ShapeSize { Small, Large }

/// <summary>The nine cells of the 3x3 grid a shape is centred in.</summary>
public enum GridPosition { TopLeft, Top, TopRight, Left, Center, Right, BottomLeft, Bottom, BottomRight }

/// <summary>
/// Constants of the Tiny Shapes world, identical to <c>tools/tiny-shapes/world.py</c>: image size,
/// palette, words of the caption grammar, shape half-sizes and grid cell centres.
/// </summary>
public static class TinyShapesWorld
{
    /// <summary>Images are square, this many pixels a side, RGB.</summary>
    public const int ImageSize = 64;

    /// <summary>Bytes of one RGB HWC image.</summary>
    public const int ImageBytes = ImageSize * ImageSize * 3;

    private static readonly (byte R, byte G, byte B)[] PaletteRgb =
    [
        (220, 40, 40), (40, 180, 60), (40, 70, 220), (240, 220, 50),
        (245, 245, 245), (20, 20, 20), (150, 60, 190), (245, 140, 30),
    ];

    private static readonly string[] ColourWords = ["red", "green", "blue", "yellow", "white", "black", "purple", "orange"];
    private static readonly string[] ShapeWords = ["circle", "square", "triangle"];
    private static readonly string[] SizeWords = ["small", "large"];
    private static readonly string[] PositionWords =
        ["top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"];

    /// <summary>All colours, in palette order.</summary>
    public static IReadOnlyList<ShapeColour> Colours { get; } = Enum.GetValues<ShapeColour>();

    /// <summary>All shape classes.</summary>
    public static IReadOnlyList<ShapeKind> Shapes { get; } = Enum.GetValues<ShapeKind>();

    /// <summary>All grid positions.</summary>
    public static IReadOnlyList<GridPosition> Positions { get; } = Enum.GetValues<GridPosition>();

    /// <summary>The RGB value of a colour.</summary>
    public static (byte R, byte G, byte B) Rgb(ShapeColour colour) => PaletteRgb[(int)colour];

    public static string Word(ShapeColour colour) => ColourWords[(int)colour];

    public static string Word(ShapeKind shape) => ShapeWords[(int)shape];

    public static string Word(ShapeSize size) => SizeWords[(int)size];

    public static string Word(GridPosition position) => PositionWords[(int)position];

    /// <summary>Half-size r of a shape in pixels (circle radius, half the square's side, half the triangle's base and height).</summary>
    public static int HalfSize(ShapeSize size) => size == ShapeSize.Small ? 6 : 10;

    /// <summary>Pixel-space centre (x, y) of a grid cell: x and y are 11, 32 or 53.</summary>
    public static (int X, int Y) CellCentre(GridPosition position)
    {
        int index = (int)position;
        return (AxisCentre(index % 3), AxisCentre(index / 3));
    }

    /// <summary>Column (0 left .. 2 right) and row (0 top .. 2 bottom) of a grid position.</summary>
    public static (int Column, int Row) Cell(GridPosition position) => ((int)position % 3, (int)position / 3);

    /// <summary>The grid position of a column and row.</summary>
    public static GridPosition FromCell(int column, int row) => (GridPosition)(row * 3 + column);

    private static int AxisCentre(int cell) => cell switch { 0 => 11, 1 => 32, _ => 53 };

    internal static bool TryColour(string word, out ShapeColour colour) => TryFind(ColourWords, word, out colour);

    internal static bool TryShape(string word, out ShapeKind shape) => TryFind(ShapeWords, word, out shape);

    internal static bool TrySize(string word, out ShapeSize size) => TryFind(SizeWords, word, out size);

    internal static bool TryPosition(string words, out GridPosition position) => TryFind(PositionWords, words, out position);

    private static bool TryFind<T>(string[] words, string word, out T value) where T : struct, Enum
    {
        int index = Array.IndexOf(words, word);
        value = index >= 0 ? (T)(object)index : default;
        return index >= 0;
    }
}
