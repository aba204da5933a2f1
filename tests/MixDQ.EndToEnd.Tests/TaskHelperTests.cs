using MixDQ.Sdk.Tasks;
using MixDQ.Tests;

namespace MixDQ.EndToEnd.Tests;

public sealed class TaskHelperTests
{
    [Fact]
    public void Locator_FindsTheItemsLine_AndFallsBackToTheFirstItem()
    {
        using var tmp = RepoPaths.NewTempDir();
        string proj = tmp.File("a.csproj");
        File.WriteAllText(proj, """
            <Project>
              <ItemGroup>
                <MixDQModel Include="models/a" />
                <MixDQModel
                    Include="models\b/" ClassName="B" />
                <MixDQModel Include="$(Somewhere)" />
                <MixDQModel Include="models/a" ClassName="Second" />
                <MixDQModel Include="models/a" ClassName="Third" />
              </ItemGroup>
            </Project>
            """);
        var locator = ProjectItemLocator.Read(proj, "MixDQModel");
        Assert.Equal(3, locator.Locate("models/a").Line);
        Assert.Equal(4, locator.Locate("models/b", "B").Line);
        Assert.Equal(3, locator.Locate("/expanded/elsewhere").Line);
        // Repeated Includes map to their own elements, by ClassName first, else in file order.
        Assert.Equal(8, locator.Locate("models/a", "Third").Line);
        Assert.Equal(7, locator.Locate("models/a").Line);
        Assert.Equal(0, ProjectItemLocator.Read(tmp.File("missing.csproj"), "MixDQModel").Locate("x").Line);
    }

    [Theory]
    [InlineData("TinyModel", true)]
    [InlineData("_x1", true)]
    [InlineData("9Lives", false)]
    [InlineData("class", false)]
    [InlineData("a-b", false)]
    [InlineData("", false)]
    public void Identifiers_AreCSharpRules(string name, bool valid) => Assert.Equal(valid, Identifiers.IsIdentifier(name));

    [Theory]
    [InlineData("tiny-shapes", "TinyShapes")]
    [InlineData("sd_turbo", "SdTurbo")]
    [InlineData("2x", "Model2x")]
    [InlineData("---", "Model")]
    public void ClassNameDefault_IsPascalCaseOfTheFolder(string folder, string expected) => Assert.Equal(expected, Identifiers.FromFolderName(folder));

    [Theory]
    [InlineData("My.App", true)]
    [InlineData("My..App", false)]
    [InlineData("My.class", false)]
    public void Namespaces_AreDottedIdentifiers(string ns, bool valid) => Assert.Equal(valid, Identifiers.IsNamespace(ns));
}
