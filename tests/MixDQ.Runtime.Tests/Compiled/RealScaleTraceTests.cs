using System.Diagnostics;
using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tests.Models;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.Compiled;

/// <summary>
/// Traces SD-Turbo and SDXL-Turbo at their real sizes from their configs alone (no weights exist here): the
/// programs must cover every layer once, and the most tensors alive at once (what the generated code keeps in
/// its reused locals) must stay small, or a generated forward pass would hold every activation of the UNet.
/// </summary>
public sealed class RealScaleTraceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sd-turbo", 64, 1024, 77)]
    [InlineData("sdxl-turbo", 128, 2048, 77)]
    public void Unet_TracesAtFullSize_EveryLayerOnce_WithFewLiveTensors(string model, int latent, int contextWidth, int tokens)
    {
        var cfg = UNet2DConditionConfig.Parse(model == "sd-turbo" ? ReferenceConfigs.SdTurboUnet : ReferenceConfigs.SdxlTurboUnet, model);
        var clock = Stopwatch.StartNew();
        var program = ForwardTracer.TraceUnet(cfg, latent, latent, tokens, model == "sdxl-turbo" ? 1280 : null);
        clock.Stop();

        var layers = UNet2DConditionModel.DescribeLayers(cfg).Select(l => l.Name).ToList();
        Assert.Equal(layers.Order(StringComparer.Ordinal), program.Ops.Where(o => o.Layer is not null).Select(o => o.Layer!).Order(StringComparer.Ordinal));
        Assert.Equal([1, 4, latent, latent], program.Ops.Single(o => o.Result == program.Outputs.Single().Value).Shape);
        Assert.Equal(contextWidth, program.Inputs.Single(i => i.Name == "encoder_hidden_states").Shape[2]);

        int peak = PeakLive(program);
        output.WriteLine($"{model}: {program.Ops.Count} ops, {layers.Count} layers, {program.Parameters.Count} parameters, peak {peak} live tensors, traced in {clock.ElapsedMilliseconds} ms");
        // The skip connections of the UNet are what stays alive: a dozen or so, never hundreds.
        Assert.InRange(peak, 3, 40);
    }

    /// <summary>The most op results alive at once when each dies after its last use (outputs live to the end).</summary>
    private static int PeakLive(ForwardProgram p)
    {
        var lastUse = new Dictionary<int, int>();
        for (int i = 0; i < p.Ops.Count; i++)
            foreach (int a in p.Ops[i].Args) lastUse[a] = i;
        foreach (var o in p.Outputs) lastUse[o.Value] = int.MaxValue;
        var results = p.Ops.Select(o => o.Result).ToHashSet();
        int live = 0, peak = 0;
        for (int i = 0; i < p.Ops.Count; i++)
        {
            if (lastUse.ContainsKey(p.Ops[i].Result)) live++;
            peak = Math.Max(peak, live);
            live -= p.Ops[i].Args.Distinct().Count(a => results.Contains(a) && lastUse[a] == i);
        }
        return peak;
    }
}
