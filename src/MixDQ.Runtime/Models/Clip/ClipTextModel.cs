using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>What a CLIP text encoder returns.</summary>
/// <param name="Hidden">[B, L, hidden]: the requested hidden state.</param>
/// <param name="TextEmbeds">[B, projection_dim]: projected pooled output (CLIPTextModelWithProjection only), else null.</param>
public sealed record ClipTextOutput(Tensor Hidden, Tensor? TextEmbeds);

/// <summary>
/// transformers CLIPTextModel / CLIPTextModelWithProjection: token + position embeddings, pre-LN causal
/// transformer layers, final LayerNorm, and (with projection) the pooled EOS row projected without bias.
/// </summary>
public sealed class ClipTextModel
{
    /// <summary>The file may hold the <c>position_ids</c> buffer of older transformers saves.</summary>
    public static readonly WeightBindingRules BindingRules = new()
    {
        IsKnownExtra = name => name == "text_model.embeddings.position_ids",
    };

    private readonly ClipTextConfig _config;
    private readonly IComputeBackend? _backend;
    private readonly Tensor? _tokenEmbedding, _positionEmbedding;
    private readonly EncoderLayer[] _layers;
    private readonly LayerNormOp _finalNorm;
    private readonly LinearOp? _projection;

    private ClipTextModel(ClipTextConfig cfg, ModuleBuilder b, bool withProjection)
    {
        _config = cfg;
        _backend = b.Backend;
        int h = cfg.HiddenSize;
        _tokenEmbedding = b.Parameter("text_model.embeddings.token_embedding.weight", cfg.VocabSize, h);
        _positionEmbedding = b.Parameter("text_model.embeddings.position_embedding.weight", cfg.MaxPositionEmbeddings, h);
        _layers = new EncoderLayer[cfg.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
            _layers[i] = new EncoderLayer(b, $"text_model.encoder.layers.{i}", cfg);
        _finalNorm = b.LayerNorm("text_model.final_layer_norm", h, cfg.LayerNormEps);
        if (withProjection) _projection = b.Linear("text_projection", cfg.ProjectionDim, h, bias: false);
        Component = b.Component;
        Layers = b.Layers;
        Bindings = b.Bindings;
    }

    public ClipTextConfig Config => _config;

    /// <summary>The component name given at creation (<c>text_encoder</c>, <c>text_encoder_2</c>).</summary>
    public string Component { get; }

    public bool WithProjection => _projection is not null;

    /// <summary>Every quantizable Linear, with its transformers module path and precision.</summary>
    /// <summary>Prepared layers and parameters by name, as bound at load (what generated forward passes use).</summary>
    internal IReadOnlyDictionary<string, object> Bindings { get; }

    public IReadOnlyList<LayerInfo> Layers { get; }

    public static IReadOnlyList<TensorInfo> ExpectedTensors(ClipTextConfig cfg, bool withProjection)
        => ModuleBuilder.Describe("text_encoder", b => _ = new ClipTextModel(cfg ?? throw new ArgumentNullException(nameof(cfg)), b, withProjection)).Expected;

    public static IReadOnlyList<LayerInfo> DescribeLayers(ClipTextConfig cfg, bool withProjection, string component = "text_encoder")
        => ModuleBuilder.Describe(component, b => _ = new ClipTextModel(cfg ?? throw new ArgumentNullException(nameof(cfg)), b, withProjection)).Layers;

    /// <summary>Binds the weights (one WeightsMismatch error listing every problem) and prepares the layers.</summary>
    /// <param name="cfg">The resolved text encoder config.</param>
    /// <param name="weights">The encoder's weights.</param>
    /// <param name="backend">Runs every op.</param>
    /// <param name="component">Component name of the layers (<c>text_encoder</c>, <c>text_encoder_2</c>).</param>
    /// <param name="withProjection">CLIPTextModelWithProjection (has <c>text_projection</c>).</param>
    /// <param name="precision">Precision per layer; null = FP32.</param>
    /// <param name="warnings">Receives NaN/Inf weight warnings.</param>
    public static ClipTextModel Create(ClipTextConfig cfg, ITensorSource weights, IComputeBackend backend, string component,
        bool withProjection, Func<LayerInfo, LayerPrecision>? precision = null, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentException.ThrowIfNullOrEmpty(component);
        var bound = WeightBinder.Bind(ExpectedTensors(cfg, withProjection), weights, BindingRules, warnings);
        return new ClipTextModel(cfg, ModuleBuilder.Build(component, backend, bound, precision), withProjection);
    }

    /// <summary>Encodes token ids.</summary>
    /// <param name="ids">[B·L] token ids, row after row (L ≤ max_position_embeddings, usually 77).</param>
    /// <param name="batch">B.</param>
    /// <param name="outputHiddenStateIndex">
    /// −1: last_hidden_state (after the final LayerNorm). −k for k ≥ 2: transformers' <c>hidden_states[−k]</c>
    /// (no final LayerNorm; −2 = the penultimate layer's output, what SDXL uses).
    /// </param>
    /// <param name="ct">Checked between layers.</param>
    public ClipTextOutput Forward(int[] ids, int batch, int outputHiddenStateIndex = -1, CancellationToken ct = default)
    {
        _ = _backend ?? throw DescribeOnly.Error();
        int seq = ValidateIds(ids, batch);
        int n = _layers.Length;
        if (outputHiddenStateIndex >= 0 || outputHiddenStateIndex < -(n + 1))
            throw new MixDQException(ErrorCodes.InvalidArgument,
                $"outputHiddenStateIndex must be -1 (last_hidden_state) or in [-{n + 1}, -2], got {outputHiddenStateIndex}", _config.Path);

        return ForwardCore(ids, PositionIds(batch, seq), _projection is not null ? EosRows(ids, batch) : null, batch, outputHiddenStateIndex, ct);
    }

    /// <summary>Position of each token in its sequence, row after row: what <see cref="ForwardCore"/> takes as <c>positions</c>.</summary>
    internal static int[] PositionIds(int batch, int sequenceLength)
    {
        var positions = new int[batch * sequenceLength];
        for (int i = 0; i < positions.Length; i++) positions[i] = i % sequenceLength;
        return positions;
    }

    /// <summary>Builds the graph on a tracing (or any) builder; see <see cref="Compiled.Tracing.ForwardTracer"/>.</summary>
    internal static ClipTextModel Build(ClipTextConfig cfg, ModuleBuilder b, bool withProjection) => new(cfg, b, withProjection);

    /// <summary>
    /// Row index (b·L + position) of each sequence's EOS token, where the pooled output is read; what
    /// <see cref="ForwardCore"/> takes as <c>eosRows</c>.
    /// </summary>
    internal int[] EosRows(int[] ids, int batch)
    {
        int seq = ids.Length / batch;
        var rows = new int[batch];
        for (int bIdx = 0; bIdx < batch; bIdx++) rows[bIdx] = bIdx * seq + EosPosition(ids.AsSpan(bIdx * seq, seq));
        return rows;
    }

    /// <summary>The forward pass with its host-side index arrays as inputs (validated ids), so that a trace sees all of it.</summary>
    internal ClipTextOutput ForwardCore(int[] ids, int[] positions, int[]? eosRows, int batch, int outputHiddenStateIndex, CancellationToken ct)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        int n = _layers.Length, seq = ids.Length / batch;
        var x = be.Add(be.Embedding(_tokenEmbedding!, ids, batch), be.Embedding(_positionEmbedding!, positions, batch));

        // hidden_states[j] is the output of layer j (0 = embeddings); -k selects j = n + 1 - k.
        int wantedLayer = outputHiddenStateIndex == -1 ? n : n + 1 + outputHiddenStateIndex;
        int depth = _projection is not null ? n : wantedLayer;
        Tensor? hidden = wantedLayer == 0 ? x : null;
        for (int i = 0; i < depth; i++)
        {
            ct.ThrowIfCancellationRequested();
            x = _layers[i].Forward(x);
            if (i + 1 == wantedLayer && outputHiddenStateIndex != -1) hidden = x;
        }

        Tensor? lastNormed = outputHiddenStateIndex == -1 ? _finalNorm.Forward(x) : null;
        hidden ??= lastNormed!;
        if (_projection is null) return new ClipTextOutput(hidden, null);

        // Pooled: the final-LN row at the EOS position of each sequence (a row gather through Embedding).
        var pooledSource = lastNormed ?? x;
        var gathered = be.Reshape(be.Embedding(be.Reshape(pooledSource, batch * seq, _config.HiddenSize), eosRows!, batch), batch, _config.HiddenSize);
        var pooled = lastNormed is null ? _finalNorm.Forward(gathered) : gathered;
        return new ClipTextOutput(hidden, _projection.Forward(pooled));
    }


    /// <summary>The final LayerNorm on its own (diffusers applies it to <c>hidden_states[−(clip_skip+1)]</c>).</summary>
    public Tensor ApplyFinalLayerNorm(Tensor hidden) => _finalNorm.Forward(hidden);

    /// <summary>transformers' pooling index: argmax(ids) for the legacy eos_token_id 2, else the first EOS.</summary>
    private int EosPosition(ReadOnlySpan<int> row)
    {
        if (_config.EosTokenId == 2)
        {
            int best = 0;
            for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
            return best;
        }
        int first = row.IndexOf(_config.EosTokenId);
        return first < 0 ? 0 : first;
    }

    private int ValidateIds(int[] ids, int batch)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (batch < 1 || ids.Length == 0 || ids.Length % batch != 0)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"{ids.Length} token ids do not split into {batch} sequences", _config.Path);
        int seq = ids.Length / batch;
        if (seq > _config.MaxPositionEmbeddings)
            throw new MixDQException(ErrorCodes.InvalidArgument,
                $"sequences of {seq} tokens exceed max_position_embeddings ({_config.MaxPositionEmbeddings})", _config.Path);
        foreach (int id in ids)
            if ((uint)id >= (uint)_config.VocabSize)
                throw new MixDQException(ErrorCodes.InvalidArgument, $"token id {id} is outside the vocabulary (size {_config.VocabSize})", _config.Path);
        return seq;
    }

    /// <summary>CLIPEncoderLayer: x + out_proj(causal MHA(LN1 x)); x + fc2(act(fc1(LN2 x))).</summary>
    private sealed class EncoderLayer
    {
        private readonly IComputeBackend? _backend;
        private readonly LinearOp _q, _k, _v, _out, _fc1, _fc2;
        private readonly LayerNormOp _norm1, _norm2;
        private readonly int _heads;
        private readonly Activation _act;

        public EncoderLayer(ModuleBuilder b, string path, ClipTextConfig cfg)
        {
            _backend = b.Backend;
            int h = cfg.HiddenSize;
            _heads = cfg.NumAttentionHeads;
            _act = cfg.HiddenAct == "gelu" ? Activation.Gelu : Activation.QuickGelu;
            // Order as in the transformers state dict: self_attn, layer_norm1, mlp, layer_norm2.
            _q = b.Linear(path + ".self_attn.q_proj", h, h);
            _k = b.Linear(path + ".self_attn.k_proj", h, h);
            _v = b.Linear(path + ".self_attn.v_proj", h, h);
            _out = b.Linear(path + ".self_attn.out_proj", h, h);
            _norm1 = b.LayerNorm(path + ".layer_norm1", h, cfg.LayerNormEps);
            _fc1 = b.Linear(path + ".mlp.fc1", cfg.IntermediateSize, h);
            _fc2 = b.Linear(path + ".mlp.fc2", h, cfg.IntermediateSize);
            _norm2 = b.LayerNorm(path + ".layer_norm2", h, cfg.LayerNormEps);
        }

        public Tensor Forward(Tensor x)
        {
            var be = _backend ?? throw DescribeOnly.Error();
            var n = _norm1.Forward(x);
            var a = be.Attention(_q.Forward(n), _k.Forward(n), _v.Forward(n), _heads, causal: true);
            x = be.Add(x, _out.Forward(a));
            var m = _fc2.Forward(be.Activate(_fc1.Forward(_norm2.Forward(x)), _act));
            return be.Add(x, m);
        }
    }
}
