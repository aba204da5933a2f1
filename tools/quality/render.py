#!/usr/bin/env python3
"""Renders the rows of docs/quality.md from the JSON files tools/quality/quality-table.sh writes.
Usage: tools/quality/render.py OUT_DIR [PROMPT_FILE_NAME]
Prints one Markdown table for the prompt file (default heldout_prompts.txt) and, for a file of several prompt forms,
a second table of the overall accuracy per form; rows whose JSON is missing are listed as not run."""
import json, os, sys

out = sys.argv[1]
prompt_file = sys.argv[2] if len(sys.argv) > 2 else "heldout_prompts.txt"
rows = [  # (label, json name, plan class or None, steps)
    ("FP32", "fp32_s1", None, 1),
    ("FP16", "fp16_s1", "Fp16", 1),
    ("naive W8A8", "naive_w8a8_s1", "NaiveW8A8", 1),
    ("naive W4A8", "naive_w4a8_s1", "NaiveW4A8", 1),
    ("MixDQ W8A8", "mixdq_W8A8_s1", "MixDQW8A8S1", 1),
    ("MixDQ W5A8", "mixdq_W5A8_s1", "MixDQW5A8S1", 1),
    ("MixDQ W4A8", "mixdq_W4A8_s1", "MixDQW4A8S1", 1),
    ("MixDQ W3.66A16", "mixdq_W3.66A16_s1", "MixDQW3_66A16S1", 1),
    ("MixDQ W4A16", "mixdq_W4A16_s1", "MixDQW4A16S1", 1),
    ("sqnr-only W4A8", "sqnronly_w4a8_s1", "SqnrOnlyW4A8", 1),
    ("no-bos W8A8", "nobos_w8a8_s1", "NoBosW8A8", 1),
    ("FP32", "fp32_s2", None, 2),
    ("MixDQ W8A8", "mixdq_W8A8_s2", "MixDQW8A8S2", 2),
    ("MixDQ W5A8", "mixdq_W5A8_s2", "MixDQW5A8S2", 2),
    ("MixDQ W4A8", "mixdq_W4A8_s2", "MixDQW4A8S2", 2),
    ("MixDQ W3.66A16", "mixdq_W3.66A16_s2", "MixDQW3_66A16S2", 2),
    ("MixDQ W4A16", "mixdq_W4A16_s2", "MixDQW4A16S2", 2),
]

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

forms = {}
print("| row | steps | overall | bg | count | shape | colour | size | position | SSIM vs FP32 | PSNR vs FP32 (dB) | SSIM vs render | Fréchet | UNet weights vs FP16 | W avg | A (int/FP16 layers) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for label, name, plan, steps in rows:
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        print(f"| {label} | {steps} | not run | | | | | | | | | | | | | |")
        continue
    j = json.load(open(path))
    sets = [r for r in j["sets"] if os.path.basename(r["prompts_file"]) == prompt_file]
    if not sets:
        print(f"| {label} | {steps} | not run on {prompt_file} | | | | | | | | | | | | | |")
        continue
    forms[(label, steps)] = {r["form"]: r["overall"] for r in sets}
    j = next(r for r in sets if r["form"] == "all")
    size = "1.000 (FP32: 2.000)"
    wavg = "32"
    acts = "FP32"
    if plan:
        p = json.load(open(os.path.join(out, "plans", plan + ".mixdq.plan.json")))
        unet = [l for l in p["layers"] if l["component"] == "unet"]
        params = [eval("*".join(map(str, l["weightShape"]))) for l in unet]
        fp16 = sum(params) * 2
        size = f"{sum(l['weightBytes'] for l in unet) / fp16:.3f}"
        wavg = f"{sum(n * l['weightBits'] for n, l in zip(params, unet)) / sum(params):.2f}"
        ints = sum(1 for l in unet if l["activationBits"] < 16)
        acts = f"{ints}/{len(unet) - ints}"
    if plan and all(l["weightBits"] >= 16 for l in unet):
        wavg, acts = "16", "FP16"
    print(f"| {label} | {steps} | {f(j['overall'], '.3f')} | {f(j['background'], '.3f')} | {f(j['count'], '.3f')} | {f(j['shape'], '.3f')} | "
          f"{f(j['colour'], '.3f')} | {f(j['size'], '.3f')} | {f(j['position'], '.3f')} | {f(j.get('ssim_vs_fp32'), '.4f')} | "
          f"{f(j.get('psnr_vs_fp32'), '.2f')} | {f(j.get('ssim_vs_render'), '.4f')} | {f(j.get('frechet_distance_vs_render'), '.4f')} | {size} | {wavg} | {acts} |")

names = sorted({form for v in forms.values() for form in v if form != "all"})
if names:
    print()
    print("| row | steps | " + " | ".join(names) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    for (label, steps), v in forms.items():
        print(f"| {label} | {steps} | " + " | ".join(f(v.get(n), ".3f") for n in names) + " |")
