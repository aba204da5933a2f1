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
        long WeightBytes,
        string? WeightScheme,
        int InputQuantizers,
        bool Bos,
        string? SensitivityMetric,
        double? WeightSensitivity,
        double? ActivationSensitivity)
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
        double RequestedWeightBits,
        double RequestedActivationBits,
        string? Method,
        int Steps,
        int LayerCount,
        int ContentLayers,
        int QualityLayers,
        long Parameters,
        long WeightBytes,
        long Fp32WeightBytes,
        EquatableArray<LayerModel> Layers,
        EquatableArray<string> LazyComponents,
        EquatableArray<ProgramModel> Programs);

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

namespace MixDQ.Generators
{
    /// <summary>A named tensor of a program (input or parameter).</summary>
    internal sealed record ProgramTensorModel(int Value, string Name, EquatableArray<int> Shape);

    /// <summary>An integer-array input of a program.</summary>
    internal sealed record ProgramIntInputModel(string Name, int Length);

    /// <summary>A named output of a program.</summary>
    internal sealed record ProgramOutputModel(string Name, int Value);

    /// <summary>An attribute of an op as C# source (a literal or an enum member), already validated.</summary>
    internal sealed record ProgramAttributeModel(string Key, string CSharp);

    /// <summary>One backend call of a traced forward pass.</summary>
    internal sealed record ProgramOpModel(
        string Op,
        int Result,
        EquatableArray<int> Args,
        EquatableArray<int> Shape,
        string? Layer,
        EquatableArray<ProgramAttributeModel> Attributes)
    {
        public string Attribute(string key)
        {
            foreach (var a in Attributes) if (a.Key == key) return a.CSharp;
            throw new System.InvalidOperationException("missing attribute " + key);
        }
    }

    /// <summary>The traced forward pass of one component, as plain values.</summary>
    internal sealed record ProgramModel(
        string Component,
        EquatableArray<ProgramTensorModel> Inputs,
        EquatableArray<ProgramIntInputModel> IntInputs,
        EquatableArray<ProgramTensorModel> Parameters,
        EquatableArray<ProgramOpModel> Ops,
        EquatableArray<ProgramOutputModel> Outputs);
}
