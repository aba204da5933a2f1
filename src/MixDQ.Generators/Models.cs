using System;

namespace MixDQ.Generators
{
    /// <summary>A plan file picked out by the AdditionalFiles metadata, before parsing.</summary>
    internal sealed record PlanInput(string Path, string Text, string? ClassName, string? Namespace);

    /// <summary>One layer of a plan: plain values only, so the model compares by value.</summary>
    internal sealed record LayerModel(
        string Component,
        string Name,
        string Op,
        EquatableArray<int> Shape,
        int WeightBits,
        int ActivationBits,
        string Group,
        long WeightBytes)
    {
        public string QualifiedName => Component + "/" + Name;
    }

    /// <summary>Everything the emitter needs from one plan.</summary>
    internal sealed record PlanModel(
        string ClassName,
        string? Namespace,
        string PlanFile,
        string PlanHash,
        int SchemaVersion,
        string CompilerVersion,
        string InputHash,
        string ModelFamily,
        string PipelineClass,
        string ArtifactFile,
        string FloatDType,
        int RequestedWeightBits,
        int RequestedActivationBits,
        int Steps,
        int LayerCount,
        int ContentLayers,
        int QualityLayers,
        long Parameters,
        long WeightBytes,
        long Fp32WeightBytes,
        EquatableArray<LayerModel> Layers,
        EquatableArray<string> LazyComponents);

    /// <summary>A diagnostic held as values (no Location, which would defeat caching); the Location is rebuilt when reporting.</summary>
    internal sealed record DiagnosticInfo(
        string Id,
        string Message,
        string FilePath,
        int SpanStart,
        int SpanLength,
        int StartLine,
        int StartColumn,
        int EndLine,
        int EndColumn);

    /// <summary>A parsed plan, or the diagnostics that explain why there is none.</summary>
    internal sealed record PlanResult(PlanModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
}
