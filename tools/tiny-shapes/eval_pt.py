"""PyTorch-side evaluation of the exported folder: judge accuracy (Python port of the C# judge) per prompt form on the
evaluation sets — the fully specified held-out set at 1, 2 and 4 steps, the held-out and in-distribution prompt-form
sets at 1 step (seed i for prompt i of each set: torch.manual_seed(i) then randn(1,4,16,16)) — and the sample grid
PNG for the model card (rows: every prompt form; columns: 1, 2, 4 steps and the render of the prompt completed with
the model's defaults). Writes pytorch_eval.json and grid.png into the folder, the card's tables to runs/card_tables.md."""
from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

import data
import judge
import loader
import sampling as S
import world
from png import write_png

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "tiny-shapes"))
FORM_NAMES = {"full": "full", "size": "size-only", "position": "position-only", "bare": "bare"}


def generate(te, unet, vae, tok, sf, prompts, steps):
    images = []
    for b in range(0, len(prompts), 60):
        images += S.generate_batch(te, unet, vae, tok, sf, prompts[b:b + 60], list(range(b, min(b + 60, len(prompts)))), steps)
    return images


def main():
    torch.set_num_threads(int(os.environ.get("TINYSHAPES_THREADS", "1")))
    te, unet, vae, tok, sf = loader.load_folder(FOLDER)
    t0 = time.time()
    runs = [("heldout", world.heldout_prompts(), s) for s in (1, 2, 4)]
    runs += [("heldout_forms", world.evaluation_forms_prompts("heldout"), 1), ("indist_forms", world.evaluation_forms_prompts("indist"), 1)]
    report, rows, images = {}, [], {}
    for name, prompts, steps in runs:
        imgs = generate(te, unet, vae, tok, sf, prompts, steps)
        images[(name, steps)] = imgs
        results = [judge.score(im, p) for im, p in zip(imgs, prompts)]
        groups = [("all", results)]
        if name.endswith("_forms"):
            groups += [(FORM_NAMES[f], [r for p, r in zip(prompts, results) if world.form_of(world.parse(p)) == f]) for f in world.FORMS]
        for form, rs in groups:
            agg = judge.aggregate(rs)
            report[f"{name}/{form}/{steps}step"] = agg
            fmt = lambda v: "–" if v != v else f"{v:.3f}"  # NaN: the form states no such attribute
            rows.append(f"| {name}_prompts.txt | {form} | {steps} | {agg['prompts']} | " + " | ".join(
                fmt(agg[k]) for k in ("overall", "background", "count", "shape", "colour", "size", "position")) + " |")
        print(name, steps, report[f"{name}/all/{steps}step"], f"{time.time() - t0:.0f}s", flush=True)
    report["settings"] = {"seconds": round(time.time() - t0)}
    with open(os.path.join(FOLDER, "pytorch_eval.json"), "w") as f:
        json.dump(report, f, indent=2)
    table = ("| prompt set | form | steps | prompts | overall | background | count | shape | colour | size | position |\n"
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))

    # Grid: per prompt form, an in-distribution one-shape, a held-out one-shape and a held-out two-shape prompt.
    forms_sets = {"indist_forms": world.evaluation_forms_prompts("indist"), "heldout_forms": world.evaluation_forms_prompts("heldout")}
    pick = []
    for f in world.FORMS:
        for name, n in (("indist_forms", 1), ("heldout_forms", 1), ("heldout_forms", 2)):
            ps = forms_sets[name]
            pick.append((name, next(i for i, p in enumerate(ps) if world.form_of(world.parse(p)) == f and len(world.parse(p).objects) == n)))
    prompts = [forms_sets[name][i] for name, i in pick]
    seeds = [i for _, i in pick]  # prompt i of its set has seed i, as in the tables
    more = {s: S.generate_batch(te, unet, vae, tok, sf, prompts, seeds, s) for s in (2, 4)}
    tiles, lines = [], []
    for r, (name, i) in enumerate(pick):
        p = prompts[r]
        row = [images[(name, 1)][i], more[2][r], more[4][r], world.render(world.complete_with_defaults(world.parse(p)))]
        tiles.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=128) for t in row], axis=1))
        verdict = "right" if judge.score(images[(name, 1)][i], p)["correct"] else "wrong"
        lines.append(f"| {r + 1} | {FORM_NAMES[world.form_of(world.parse(p))]} | {name.replace('_forms', '')} | {p} | {verdict} |")
    write_png(os.path.join(FOLDER, "grid.png"), np.concatenate(tiles, axis=0))
    grid = "| row | form | set | prompt | 1 step |\n|---|---|---|---|---|\n" + "\n".join(lines)
    with open(os.path.join(data.RUNS, "card_tables.md"), "w") as f:
        f.write(table + "\n\n" + grid + "\n")
    print(table + "\n\n" + grid)


if __name__ == "__main__":
    main()
