using System.Globalization;
using System.Text;
using System.Xml;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Reporting;

/// <summary>
/// Prints a <see cref="ReportModel"/> as one self-contained page: inline CSS and SVG, images as data URIs, no script.
/// Written through <see cref="XmlWriter"/>, so the page is well-formed XHTML as well as HTML (non-void elements always
/// get an end tag, which HTML parsers need); the same model always gives the same bytes.
/// </summary>
public sealed class HtmlReportEmitter
{
    private const int Cell = 14, CellHeight = 30, Gap = 3, ModulePad = 6, LabelWidth = 230, Indent = 26, RowHeight = 62;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Bits → fill colour; dark for few bits, pale for float, readable in grey print as well.</summary>
    private static readonly (int Bits, string Fill, string Name)[] Palette =
    [
        (2, "#a50026", "2-bit"), (4, "#f46d43", "4-bit"), (8, "#4575b4", "8-bit"), (16, "#d9d9d9", "FP16"), (32, "#f7f7f7", "FP32"),
    ];

    private const string Css = """
        body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px; max-width: 1300px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
        table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
        th { background: #f3f3f3; } td.name, th.name { text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
        td.chosen { font-weight: bold; background: #fff3b0; outline: 2px solid #333; }
        dl { display: grid; grid-template-columns: 220px auto; gap: 2px 12px; } dt { font-weight: bold; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
        .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; }
        .pairs { display: flex; flex-wrap: wrap; gap: 14px; } figure { margin: 0; border: 1px solid #ddd; padding: 6px; width: 280px; }
        figure img { width: 128px; height: 128px; image-rendering: pixelated; } figcaption, .label { font-size: 12px; } .label { color: #666; }
        .ok { color: #1a7f37; } .bad { color: #c62828; font-weight: bold; }
        svg text { font: 11px system-ui, sans-serif; } svg .small { font-size: 9px; }
        @media print { body { margin: 0; } h2 { break-after: avoid; } figure, svg { break-inside: avoid; } }
        """;

    public byte[] Emit(ReportModel model)
    {
        var settings = new XmlWriterSettings
        {
            OmitXmlDeclaration = true, Indent = true, IndentChars = " ", NewLineChars = "\n", Encoding = new UTF8Encoding(false),
        };
        using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, settings))
        {
            w.WriteDocType("html", null, null, null);
            w.WriteStartElement("html", "http://www.w3.org/1999/xhtml");
            w.WriteAttributeString("lang", "en");
            w.WriteStartElement("head");
            Empty(w, "meta", ("charset", "utf-8"));
            Text(w, "title", $"MixDQ report: {model.Header.ClassName}");
            Text(w, "style", Css);
            w.WriteEndElement();
            w.WriteStartElement("body");
            Text(w, "h1", $"MixDQ report: {model.Header.ClassName}");
            Text(w, "p", Summary(model));
            if (!model.Analysed)
                Text(w, "p", "This is a floating-point plan: the build ran no MixDQ analysis, so there is no allocation, sensitivity or image comparison to show. The page shows memory only.", "note");
            else
            {
                Allocation(w, model);
                Sensitivity(w, model);
            }
            Budget(w, model);
            if (model.Analysed) Images(w, model.Images);
            Provenance(w, model.Header);
            w.WriteFullEndElement();
            w.WriteFullEndElement();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static string Summary(ReportModel m)
    {
        var all = m.Budget[^1];
        string unet = m.Budget.FirstOrDefault(r => r.Label == "unet · all") is { } u && m.Analysed
            ? $" The UNet, where the analysis chose the widths, averages {F2(u.AverageWeightBits)} weight and {F2(u.AverageActivationBits)} activation bits: {Bytes(u.WeightBytes)}, FP16 would take {Ratio(u.Fp16Bytes, u.WeightBytes)} as much."
            : "";
        return $"{m.Header.ModelFamily} model ({m.Header.PipelineClass}), {all.Layers} layers, {all.Parameters:N0} weights: "
            + $"{Bytes(all.WeightBytes)} of weights (FP16 would take {Ratio(all.Fp16Bytes, all.WeightBytes)} as much, FP32 {Ratio(all.Fp32Bytes, all.WeightBytes)}); "
            + $"average {F2(all.AverageWeightBits)} weight bits and {F2(all.AverageActivationBits)} activation bits (weights averaged by parameters, activations by the input elements each layer reads)." + unet;
    }

    // ------------------------------------------------------------------ allocation drawing

    private static void Allocation(XmlWriter w, ReportModel m)
    {
        Text(w, "h2", "Allocation");
        Text(w, "p", "Each cell is one layer, in execution order: the top half is coloured by its weight bits, the bottom half by its activation bits. "
            + "A black frame and dot mark a layer whose activations the analysis protected (kept FP16). Hover a cell for its module path, shape, bits, sensitivity and bytes. "
            + "UNet blocks are indented by depth, so the down path, the mid block and the up path draw the U of the network.");
        Legend(w);
        foreach (var component in m.Components) ComponentSvg(w, component);
    }

    private static void Legend(XmlWriter w)
    {
        int width = Palette.Length * 80 + 150;
        StartSvg(w, width, 24, "Legend of the bit colours");
        for (int i = 0; i < Palette.Length; i++)
        {
            Empty(w, "rect", ("x", N(i * 80)), ("y", "4"), ("width", "14"), ("height", "14"), ("fill", Palette[i].Fill), ("stroke", "#888"));
            SvgText(w, i * 80 + 18, 16, Palette[i].Name);
        }
        int px = Palette.Length * 80;
        Empty(w, "rect", ("x", N(px)), ("y", "4"), ("width", "14"), ("height", "14"), ("fill", "#fff"), ("stroke", "#000"), ("stroke-width", "2"));
        Empty(w, "circle", ("cx", N(px + 7)), ("cy", "11"), ("r", "2.5"), ("fill", "#000"));
        SvgText(w, px + 18, 16, "protected activations");
        w.WriteFullEndElement();
    }

    private static void ComponentSvg(XmlWriter w, ComponentDrawing component)
    {
        int width = LabelWidth + component.Blocks.Max(b => b.Depth * Indent + BlockWidth(b)) + 90; // room for the last module's label
        int height = component.Blocks.Count * RowHeight + 24;
        Text(w, "h3", component.Name);
        StartSvg(w, width, height, $"Allocation of {component.Name}");
        for (int row = 0; row < component.Blocks.Count; row++)
        {
            var block = component.Blocks[row];
            int y = 10 + row * RowHeight, x = LabelWidth + block.Depth * Indent;
            SvgText(w, 0, y + 34, block.Name);
            foreach (var module in block.Modules)
            {
                int mw = ModuleWidth(module);
                Empty(w, "rect", ("x", N(x)), ("y", N(y + 14)), ("width", N(mw)), ("height", N(CellHeight + 2 * ModulePad)),
                    ("fill", "none"), ("stroke", "#999"), ("rx", "3"));
                if (module.Name.Length > 0) SvgText(w, x + 2, y + 10, module.Name, "small");
                int cx = x + ModulePad;
                foreach (var cell in module.Layers)
                {
                    LayerCellSvg(w, cell, cx, y + 14 + ModulePad);
                    cx += Cell + Gap;
                }
                x += mw + 8;
            }
        }
        w.WriteFullEndElement();
    }

    private static int ModuleWidth(ModuleDrawing m) => 2 * ModulePad + m.Layers.Count * (Cell + Gap) - Gap;

    private static int BlockWidth(BlockDrawing b) => b.Modules.Sum(m => ModuleWidth(m) + 8);

    private static void LayerCellSvg(XmlWriter w, LayerCell cell, int x, int y)
    {
        var l = cell.Layer;
        w.WriteStartElement("g");
        w.WriteAttributeString("data-layer", cell.QualifiedName);
        Text(w, "title", Tooltip(cell));
        Empty(w, "rect", ("x", N(x)), ("y", N(y)), ("width", N(Cell)), ("height", N(CellHeight / 2)), ("fill", Fill(l.WeightBits)));
        Empty(w, "rect", ("x", N(x)), ("y", N(y + CellHeight / 2)), ("width", N(Cell)), ("height", N(CellHeight / 2)), ("fill", Fill(l.ActivationBits)));
        if (cell.Protected)
        {
            Empty(w, "rect", ("x", N(x)), ("y", N(y)), ("width", N(Cell)), ("height", N(CellHeight)), ("fill", "none"), ("stroke", "#000"), ("stroke-width", "2.5"));
            Empty(w, "circle", ("cx", N(x + Cell / 2)), ("cy", N(y + CellHeight * 3 / 4)), ("r", "2.5"), ("fill", "#000"));
        }
        else Empty(w, "rect", ("x", N(x)), ("y", N(y)), ("width", N(Cell)), ("height", N(CellHeight)), ("fill", "none"), ("stroke", "#666"), ("stroke-width", "0.5"));
        w.WriteFullEndElement();
    }

    private static string Tooltip(LayerCell cell)
    {
        var l = cell.Layer;
        var s = new StringBuilder();
        s.Append(cell.QualifiedName).Append('\n');
        s.Append(l.Op.ToString().ToLowerInvariant()).Append(" [").Append(string.Join('×', l.WeightShape)).Append("], ").Append(l.Group.ToString().ToLowerInvariant()).Append('\n');
        s.Append("W").Append(l.WeightBits).Append("A").Append(l.ActivationBits);
        if (cell.Protected) s.Append(" (activations protected)");
        s.Append('\n').Append(Bytes(l.WeightBytes)).Append(" (FP32 ").Append(Bytes(l.Fp32WeightBytes)).Append(')');
        if (l.Sensitivity is { } sens)
            s.Append('\n').Append(sens.Metric.ToUpperInvariant()).Append(" at chosen widths: weight ").Append(Score(sens.Weight, sens.Metric)).Append(", activation ").Append(Score(sens.Activation, sens.Metric));
        return s.ToString();
    }

    // ------------------------------------------------------------------ sensitivity

    private static void Sensitivity(XmlWriter w, ReportModel m)
    {
        Text(w, "h2", "Sensitivity");
        if (m.Sensitivity.Count == 0)
        {
            Text(w, "p", "The plan carries no sensitivities.", "note");
            return;
        }
        Text(w, "p", "Score of each layer with only that layer quantized at the given width, everything else FP: mean SSIM of the images vs FP for content layers "
            + "(cross-attention, feed-forward), SQNR of the UNet output vs FP (dB) for quality layers. Higher is less harmful. Rows are sorted most sensitive first "
            + "(lowest score at the smallest weight width); the chosen width is framed. "
            + (m.Header.LockHash is null ? "Without --lock only the scores at the chosen widths (stored in the plan) are known." : "Candidate scores come from the lock file."));
        foreach (var table in m.Sensitivity)
        {
            Text(w, "h3", $"{table.Group.ToString().ToLowerInvariant()} layers: {table.Metric.ToUpperInvariant()} ({table.Rows.Count})");
            w.WriteStartElement("table");
            w.WriteStartElement("tr");
            Text(w, "th", "layer", "name");
            Text(w, "th", "chosen");
            if (table.WeightWidths.Count + table.ActivationWidths.Count == 0)
            {
                Text(w, "th", "weight score");
                Text(w, "th", "activation score");
            }
            foreach (int b in table.WeightWidths) Text(w, "th", $"W{b}");
            foreach (int b in table.ActivationWidths) Text(w, "th", $"A{b}");
            w.WriteFullEndElement();
            foreach (var row in table.Rows)
            {
                var l = row.Layer;
                w.WriteStartElement("tr");
                Text(w, "td", row.QualifiedName, "name");
                Text(w, "td", $"W{l.WeightBits}A{l.ActivationBits}" + (row.Protected ? " (protected)" : ""));
                if (table.WeightWidths.Count + table.ActivationWidths.Count == 0)
                {
                    Text(w, "td", Score(l.Sensitivity?.Weight, table.Metric));
                    Text(w, "td", Score(l.Sensitivity?.Activation, table.Metric));
                }
                foreach (int b in table.WeightWidths)
                    Text(w, "td", row.Candidates?.Weights.TryGetValue(b, out double v) == true ? Score(v, table.Metric) : "–", l.WeightBits == b ? "chosen" : null);
                foreach (int b in table.ActivationWidths)
                    Text(w, "td", row.Candidates?.Activations.TryGetValue(b, out double v) == true ? Score(v, table.Metric) : "–", l.ActivationBits == b ? "chosen" : null);
                w.WriteFullEndElement();
            }
            w.WriteFullEndElement();
        }
    }

    // ------------------------------------------------------------------ budget and memory

    private static void Budget(XmlWriter w, ReportModel m)
    {
        Text(w, "h2", "Budget and memory");
        Text(w, "p", "Average widths are weighted by each layer's parameter count. Weight memory counts what the artifact stores (packed codes, scales and zero points for integer layers).");
        w.WriteStartElement("table");
        w.WriteStartElement("tr");
        foreach (var h in new[] { "layers", "count", "parameters", "avg weight bits", "avg activation bits", "weights", "FP16", "FP32", "vs FP16", "vs FP32" })
            Text(w, "th", h, h == "layers" ? "name" : null);
        w.WriteFullEndElement();
        foreach (var r in m.Budget)
        {
            w.WriteStartElement("tr");
            Text(w, "td", r.Label, "name");
            Text(w, "td", N(r.Layers));
            Text(w, "td", r.Parameters.ToString("N0", Inv));
            Text(w, "td", F2(r.AverageWeightBits));
            Text(w, "td", F2(r.AverageActivationBits));
            Text(w, "td", Bytes(r.WeightBytes));
            Text(w, "td", Bytes(r.Fp16Bytes));
            Text(w, "td", Bytes(r.Fp32Bytes));
            Text(w, "td", Ratio(r.Fp16Bytes, r.WeightBytes));
            Text(w, "td", Ratio(r.Fp32Bytes, r.WeightBytes));
            w.WriteFullEndElement();
        }
        w.WriteFullEndElement();
        MemoryBars(w, m.Budget[^1]);
    }

    private static void MemoryBars(XmlWriter w, BudgetRow all)
    {
        const int barMax = 700, left = 90;
        var bars = new[] { ("this plan", all.WeightBytes, "#4575b4"), ("FP16", all.Fp16Bytes, "#bbb"), ("FP32", all.Fp32Bytes, "#888") };
        StartSvg(w, left + barMax + 120, bars.Length * 26 + 6, "Weight memory of the plan vs FP16 and FP32");
        for (int i = 0; i < bars.Length; i++)
        {
            var (label, bytes, fill) = bars[i];
            int len = (int)Math.Max(1, Math.Round(barMax * (double)bytes / all.Fp32Bytes));
            SvgText(w, 0, i * 26 + 18, label);
            Empty(w, "rect", ("x", N(left)), ("y", N(i * 26 + 4)), ("width", N(len)), ("height", "18"), ("fill", fill));
            SvgText(w, left + len + 6, i * 26 + 18, Bytes(bytes));
        }
        w.WriteFullEndElement();
    }

    // ------------------------------------------------------------------ images

    private static void Images(XmlWriter w, ImageSection images)
    {
        Text(w, "h2", "Images: FP32 vs quantized");
        if (images.Note is not null) Text(w, "p", images.Note, "note");
        if (images.Pairs.Count == 0) return;
        Text(w, "p", $"Same prompt and seed through the FP32 model (left) and the plan (right: its integer layers run simulated from the artifact's packed weights). "
            + $"SSIM and PSNR compare the two images. Mean SSIM {images.Pairs.Average(p => p.Ssim).ToString("0.0000", Inv)}.");
        w.WriteStartElement("div");
        w.WriteAttributeString("class", "pairs");
        foreach (var p in images.Pairs)
        {
            w.WriteStartElement("figure");
            Text(w, "div", "FP32 · quantized", "label");
            Empty(w, "img", ("src", DataUri(p.FpPng)), ("alt", $"FP32: {p.Prompt}"));
            w.WriteString(" ");
            Empty(w, "img", ("src", DataUri(p.QuantizedPng)), ("alt", $"quantized: {p.Prompt}"));
            w.WriteStartElement("figcaption");
            Text(w, "div", $"“{p.Prompt}”, seed {p.Seed}");
            Text(w, "div", $"SSIM {p.Ssim.ToString("0.0000", Inv)} · PSNR {(p.Psnr is { } db ? db.ToString("0.00", Inv) + " dB" : "∞ (identical)")}");
            if (p.FpVerdict is not null && p.QuantizedVerdict is not null) VerdictLine(w, p.FpVerdict, p.QuantizedVerdict);
            w.WriteFullEndElement();
            w.WriteFullEndElement();
        }
        w.WriteFullEndElement();
    }

    private static void VerdictLine(XmlWriter w, Verdict fp, Verdict q)
    {
        w.WriteStartElement("div");
        w.WriteString("judge (FP/quantized): ");
        var attrs = new (string Name, bool? Fp, bool? Q)[]
        {
            ("bg", fp.Background, q.Background), ("count", fp.Count, q.Count), ("shape", fp.Shape, q.Shape),
            ("colour", fp.Colour, q.Colour), ("size", fp.Size, q.Size), ("pos", fp.Position, q.Position),
        };
        foreach (var (name, f, qq) in attrs.Where(a => a.Fp is not null))
        {
            w.WriteStartElement("span");
            w.WriteAttributeString("class", qq == true ? "ok" : "bad");
            w.WriteString($"{name} {Mark(f)}/{Mark(qq)} ");
            w.WriteFullEndElement();
        }
        w.WriteFullEndElement();
    }

    private static string Mark(bool? b) => b == true ? "✓" : "✗";

    private static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    // ------------------------------------------------------------------ provenance

    private static void Provenance(XmlWriter w, ReportHeader h)
    {
        Text(w, "h2", "Settings and provenance");
        w.WriteStartElement("dl");
        void Item(string k, string? v) { Text(w, "dt", k); Text(w, "dd", v ?? "–"); }
        Item("class", h.ClassName);
        Item("model family / pipeline", $"{h.ModelFamily} / {h.PipelineClass}");
        Item("requested bits (W / A)", $"{F2(h.Settings.RequestedWeightBits)} / {F2(h.Settings.RequestedActivationBits)}");
        Item("method", h.Settings.Method ?? "none (floating point)");
        Item("steps", N(h.Settings.Steps));
        Item("calibration prompts hash", h.Settings.CalibrationPromptsHash);
        Item("input hash (model files)", h.InputHash);
        Item("plan hash", h.PlanHash);
        Item("lock file hash", h.LockHash ?? "no lock file given");
        Item("plan written by", $"mixdq-compile {h.PlanCompilerVersion}");
        Item("report written by", $"mixdq {h.ToolVersion}");
        Item("reproduce this page", h.Command);
        w.WriteFullEndElement();
    }

    // ------------------------------------------------------------------ writer helpers

    private static void StartSvg(XmlWriter w, int width, int height, string label)
    {
        w.WriteStartElement("svg", "http://www.w3.org/2000/svg");
        w.WriteAttributeString("width", N(width));
        w.WriteAttributeString("height", N(height));
        w.WriteAttributeString("viewBox", $"0 0 {N(width)} {N(height)}");
        w.WriteAttributeString("role", "img");
        w.WriteAttributeString("aria-label", label);
    }

    private static void SvgText(XmlWriter w, int x, int y, string text, string? cssClass = null)
    {
        w.WriteStartElement("text");
        w.WriteAttributeString("x", N(x));
        w.WriteAttributeString("y", N(y));
        if (cssClass is not null) w.WriteAttributeString("class", cssClass);
        w.WriteString(text);
        w.WriteFullEndElement();
    }

    private static void Text(XmlWriter w, string element, string text, string? cssClass = null)
    {
        w.WriteStartElement(element);
        if (cssClass is not null) w.WriteAttributeString("class", cssClass);
        w.WriteString(text);
        w.WriteFullEndElement();
    }

    /// <summary>A void element (HTML <c>meta</c>, <c>img</c>) or an SVG shape: written self-closed.</summary>
    private static void Empty(XmlWriter w, string element, params (string Name, string Value)[] attributes)
    {
        w.WriteStartElement(element);
        foreach (var (name, value) in attributes) w.WriteAttributeString(name, value);
        w.WriteEndElement();
    }

    private static string Fill(int bits) => Palette.First(p => p.Bits == bits).Fill;

    private static string N(int v) => v.ToString(Inv);

    private static string F2(double v) => v.ToString("0.00", Inv);

    /// <summary>SSIM scores crowd just below 1, so they get five decimals; SQNR (dB) reads fine with two.</summary>
    private static string Score(double? v, string metric) => v is { } d ? d.ToString(metric == "sqnr" ? "0.00" : "0.00000", Inv) : "FP";

    private static string Ratio(long reference, long bytes) => bytes == 0 ? "–" : (reference / (double)bytes).ToString("0.00", Inv) + "×";

    private static string Bytes(long b) => b >= 1 << 20 ? (b / 1048576.0).ToString("0.00", Inv) + " MiB" : (b / 1024.0).ToString("0.0", Inv) + " KiB";
}
