"""PyTorch-side evaluation of the exported folder: judge accuracy (Python port of the C# judge) on the
held-out and in-distribution prompt sets at 1, 2 and 4 steps (seed i for prompt i: torch.manual_seed(i)
then randn(1,4,16,16)), and the sample grid PNG for the model card."""
from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

import judge
import loader
import sampling as S
import world
from png import write_png

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "tiny-shapes"))


def main():
    torch.set_num_threads(int(os.environ.get("TINYSHAPES_THREADS", "1")))
    te, unet, vae, tok, sf = loader.load_folder(FOLDER)
    # Subset size per set (balanced: first n/2 one-shape and first n/2 two-shape prompts) and step counts,
    # so the evaluation fits a busy CPU; the defaults are the full sets.
    n = int(os.environ.get("TINYSHAPES_EVAL_N", "240"))
    step_list = [int(x) for x in os.environ.get("TINYSHAPES_EVAL_STEPS", "1,2,4").split(",")]
    half = lambda ps: ps[:n // 2] + ps[120:120 + n // 2]
    sets = {"heldout": half(world.heldout_prompts()), "indist": half(world.indist_prompts())}
    report = {}
    t0 = time.time()
    images = {}
    for name, prompts in sets.items():
        for steps in step_list:
            res = []
            for b in range(0, len(prompts), 60):
                batch = prompts[b:b + 60]
                imgs = S.generate_batch(te, unet, vae, tok, sf, batch, list(range(b, b + len(batch))), steps)
                images[(name, steps, b)] = imgs
                res += [judge.score(im, p) for im, p in zip(imgs, batch)]
            report[f"{name}_{steps}step"] = judge.aggregate(res)
            print(name, steps, report[f"{name}_{steps}step"], f"{time.time() - t0:.0f}s", flush=True)
    report["settings"] = {"prompts_per_set": len(sets["heldout"]), "steps": step_list, "seconds": round(time.time() - t0)}
    with open(os.path.join(FOLDER, "pytorch_eval.json"), "w") as f:
        json.dump(report, f, indent=2)
    # Grid: 6 in-distribution and 6 held-out prompts (rows), columns = 1, 2, 4 steps and the world's own render.
    pick = (0, 1, 2, n // 2, n // 2 + 1, n // 2 + 2)
    rows = [("indist", i) for i in pick] + [("heldout", i) for i in pick]
    tiles, lines = [], []
    for r, (name, i) in enumerate(rows):
        p = sets[name][i]
        row = [images[(name, s, (i // 60) * 60)][i % 60] for s in step_list] + [world.render(world.parse(p))]
        tiles.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=128) for t in row], axis=1))
        lines.append(f"| {r + 1} | {name} | {p} |")
    write_png(os.path.join(FOLDER, "grid.png"), np.concatenate(tiles, axis=0))
    with open(os.path.join(FOLDER, "grid_prompts.md"), "w") as f:
        f.write("| row | set | prompt |\n|---|---|---|\n" + "\n".join(lines) + "\n")
    print("grid written")


if __name__ == "__main__":
    main()
