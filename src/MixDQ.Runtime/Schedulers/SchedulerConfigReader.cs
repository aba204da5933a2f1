using System.Text.Json;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// Reads <c>scheduler_config.json</c>. Keys this runtime does not know are ignored (configs carry keys of other
/// schedulers, e.g. DDIM's <c>clip_sample</c> in an Euler config), but a known key with a value the runtime
/// cannot honour is an error naming that key — never a silently different sampler.
/// </summary>
internal static class SchedulerConfigReader
{
    public static SchedulerConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new MixDQException(ErrorCodes.ConfigMissing, "scheduler config not found", path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.SchedulerInvalid, $"cannot read the scheduler config: {e.Message}", path, inner: e);
        }
        return Parse(json, path);
    }

    public static SchedulerConfig Parse(string json, string? path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.SchedulerInvalid, $"the scheduler config is not valid JSON: {e.Message}", path, inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.SchedulerInvalid, "the scheduler config must be a JSON object", path);
            var fields = new Fields(doc.RootElement, path);
            var config = ReadValues(fields);
            RejectUnsupportedOptions(fields, config.Kind);
            SchedulerConfigValidator.Validate(config, path);
            return config;
        }
    }

    private static SchedulerConfig ReadValues(Fields f)
    {
        var kind = f.String("_class_name") switch
        {
            "EulerDiscreteScheduler" => SchedulerKind.EulerDiscrete,
            "EulerAncestralDiscreteScheduler" => SchedulerKind.EulerAncestralDiscrete,
            "LCMScheduler" => SchedulerKind.Lcm,
            null => throw f.Error("_class_name", "the scheduler class is missing"),
            var other => throw f.Error("_class_name",
                $"scheduler '{other}' is not supported (supported: EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, LCMScheduler)"),
        };
        var d = SchedulerConfig.Defaults(kind);
        return d with
        {
            NumTrainTimesteps = f.Int("num_train_timesteps") ?? d.NumTrainTimesteps,
            BetaStart = f.Number("beta_start") ?? d.BetaStart,
            BetaEnd = f.Number("beta_end") ?? d.BetaEnd,
            BetaSchedule = f.String("beta_schedule") switch
            {
                null => d.BetaSchedule,
                "linear" => BetaSchedule.Linear,
                "scaled_linear" => BetaSchedule.ScaledLinear,
                "squaredcos_cap_v2" => BetaSchedule.SquaredCosCapV2,
                var other => throw f.Error("beta_schedule", $"beta schedule '{other}' is not supported (linear, scaled_linear, squaredcos_cap_v2)"),
            },
            PredictionType = f.String("prediction_type") switch
            {
                null => d.PredictionType,
                "epsilon" => PredictionType.Epsilon,
                "v_prediction" => PredictionType.VPrediction,
                "sample" or "original_sample" when kind == SchedulerKind.EulerDiscrete => PredictionType.Sample,
                "sample" => PredictionType.Sample,
                var other => throw f.Error("prediction_type", $"prediction type '{other}' is not supported (epsilon, v_prediction, sample)"),
            },
            TimestepSpacing = f.String("timestep_spacing") switch
            {
                null => d.TimestepSpacing,
                "linspace" => TimestepSpacing.Linspace,
                "leading" => TimestepSpacing.Leading,
                "trailing" => TimestepSpacing.Trailing,
                var other => throw f.Error("timestep_spacing", $"timestep spacing '{other}' is not supported (linspace, leading, trailing)"),
            },
            StepsOffset = f.Int("steps_offset") ?? d.StepsOffset,
            OriginalInferenceSteps = kind == SchedulerKind.Lcm ? f.Int("original_inference_steps") ?? d.OriginalInferenceSteps : d.OriginalInferenceSteps,
            TimestepScaling = kind == SchedulerKind.Lcm ? f.Number("timestep_scaling") ?? d.TimestepScaling : d.TimestepScaling,
            ClipSample = kind == SchedulerKind.Lcm && (f.Bool("clip_sample") ?? d.ClipSample),
            ClipSampleRange = kind == SchedulerKind.Lcm ? f.Number("clip_sample_range") ?? d.ClipSampleRange : d.ClipSampleRange,
        };
    }

    /// <summary>Options of the implemented classes that would change the sampler and are not implemented.</summary>
    private static void RejectUnsupportedOptions(Fields f, SchedulerKind kind)
    {
        if (f.IsPresentAndNotNull("trained_betas"))
            throw f.Error("trained_betas", "explicit trained_betas are not supported; use beta_start/beta_end/beta_schedule");
        if (f.Bool("rescale_betas_zero_snr") == true)
            throw f.Error("rescale_betas_zero_snr", "zero-terminal-SNR rescaling is not supported");

        if (kind == SchedulerKind.Lcm)
        {
            if (f.Bool("thresholding") == true)
                throw f.Error("thresholding", "dynamic thresholding is not supported");
            return;
        }

        foreach (string key in new[] { "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas" })
        {
            if (f.Bool(key) == true) throw f.Error(key, $"{key} = true is not supported (only the default discrete sigmas)");
        }
        string? interpolation = f.String("interpolation_type");
        if (interpolation is not null and not "linear")
            throw f.Error("interpolation_type", $"interpolation type '{interpolation}' is not supported (linear)");
        if (kind == SchedulerKind.EulerDiscrete)
        {
            string? finalSigmas = f.String("final_sigmas_type");
            if (finalSigmas is not null and not "zero")
                throw f.Error("final_sigmas_type", $"final sigmas type '{finalSigmas}' is not supported (zero)");
            string? timestepType = f.String("timestep_type");
            if (timestepType is not null and not "discrete" and not "continuous")
                throw f.Error("timestep_type", $"timestep type '{timestepType}' is not supported (discrete)");
            // "continuous" changes the timesteps only together with v_prediction (EDM-style 0.25·ln σ).
            if (timestepType == "continuous" && f.String("prediction_type") == "v_prediction")
                throw f.Error("timestep_type", "continuous timesteps with v_prediction are not supported");
        }
    }

    /// <summary>Typed access to the top-level keys; a key of the wrong JSON type is an error naming it.</summary>
    private sealed class Fields(JsonElement root, string? path)
    {
        public MixDQException Error(string field, string message) =>
            new(ErrorCodes.SchedulerInvalid, message, path, field);

        public bool IsPresentAndNotNull(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

        public string? String(string key)
        {
            if (!TryGet(key, out var v)) return null;
            return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error(key, $"{key} must be a string");
        }

        public double? Number(string key)
        {
            if (!TryGet(key, out var v)) return null;
            return v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d)
                ? d
                : throw Error(key, $"{key} must be a finite number");
        }

        public int? Int(string key)
        {
            if (!TryGet(key, out var v)) return null;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
                return (int)d;
            throw Error(key, $"{key} must be an integer");
        }

        public bool? Bool(string key)
        {
            if (!TryGet(key, out var v)) return null;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(key, $"{key} must be true or false"),
            };
        }

        /// <summary>Absent and null both mean "the class default", as with diffusers' keyword arguments.</summary>
        private bool TryGet(string key, out JsonElement value) =>
            root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;
    }
}

/// <summary>Range checks shared by configs read from JSON and configs built in code.</summary>
internal static class SchedulerConfigValidator
{
    public const int MaxTrainTimesteps = 100_000;

    public static void Validate(SchedulerConfig c, string? path)
    {
        MixDQException Bad(string field, string message) => new(ErrorCodes.SchedulerInvalid, message, path, field);

        if (!Enum.IsDefined(c.Kind)) throw Bad("_class_name", $"unknown scheduler kind {c.Kind}");
        if (c.NumTrainTimesteps is < 2 or > MaxTrainTimesteps)
            throw Bad("num_train_timesteps", $"num_train_timesteps must be from 2 to {MaxTrainTimesteps}, found {c.NumTrainTimesteps}");
        if (c.BetaSchedule != BetaSchedule.SquaredCosCapV2)
        {
            if (!(c.BetaStart > 0 && c.BetaStart < 1)) throw Bad("beta_start", $"beta_start must be in (0, 1), found {c.BetaStart}");
            if (!(c.BetaEnd > 0 && c.BetaEnd < 1)) throw Bad("beta_end", $"beta_end must be in (0, 1), found {c.BetaEnd}");
        }
        if (!Enum.IsDefined(c.BetaSchedule)) throw Bad("beta_schedule", $"unknown beta schedule {c.BetaSchedule}");
        if (!Enum.IsDefined(c.PredictionType)) throw Bad("prediction_type", $"unknown prediction type {c.PredictionType}");
        if (!Enum.IsDefined(c.TimestepSpacing)) throw Bad("timestep_spacing", $"unknown timestep spacing {c.TimestepSpacing}");
        if (c.StepsOffset < 0 || c.StepsOffset >= c.NumTrainTimesteps)
            throw Bad("steps_offset", $"steps_offset must be from 0 to num_train_timesteps − 1, found {c.StepsOffset}");
        if (c.Kind == SchedulerKind.Lcm)
        {
            if (c.OriginalInferenceSteps < 1 || c.OriginalInferenceSteps > c.NumTrainTimesteps)
                throw Bad("original_inference_steps", $"original_inference_steps must be from 1 to num_train_timesteps, found {c.OriginalInferenceSteps}");
            if (!(c.TimestepScaling > 0) || !double.IsFinite(c.TimestepScaling))
                throw Bad("timestep_scaling", $"timestep_scaling must be a positive number, found {c.TimestepScaling}");
            if (c.ClipSample && !(c.ClipSampleRange > 0))
                throw Bad("clip_sample_range", $"clip_sample_range must be positive, found {c.ClipSampleRange}");
        }
    }
}
