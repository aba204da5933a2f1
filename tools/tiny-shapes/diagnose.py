"""Where shape errors come from: the judge's per-object shape accuracy on the held-out and in-distribution
prompts, for the VAE's round trip of the world's own renders (the decoder's ceiling) and for generations at
1/2/4 steps, split by object size, by shape and by whether the object is a held-out (shape, colour) pair.
Reads the training checkpoints in runs/ (unet_ema.pt, vae_final.pt), not the exported folder; writes
runs/diagnose.json.  Usage: python3 diagnose.py [--device cuda]"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict

import numpy as np
import torch

import data
import imaging
import judge
import loader
import sampling as S
import world
from clip_tokenizer import ClipTokenizer


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", default="1,2,4")
    ap.add_argument("--validation", action="store_true",
                    help="the validation prompt sets instead (seeds 6 and 7, less any evaluation prompt): to choose between runs with")
    args = ap.parse_args()
    dev = args.device
    torch.set_num_threads(int(os.environ.get("TINYSHAPES_THREADS", "1")))
    te, unet, vae, sf, step = loader.load_checkpoints(data.RUNS)
    te, unet, vae = te.to(dev), unet.to(dev), vae.to(dev)
    tok = ClipTokenizer()
    t0 = time.time()
    report = {"unet_step": step}
    sets = [("heldout", world.heldout_prompts()), ("indist", world.indist_prompts())]
    if args.validation:  # other seeds, so choosing between training runs leaves the evaluation sets unseen
        evaluation = {p for _, ps in sets for p in ps}
        sets = [("val_heldout", [p for p in world.heldout_prompts(seed=6) if p not in evaluation]),
                ("val_indist", [p for p in world.indist_prompts(seed=7) if p not in evaluation])]
    for name, prompts in sets:
        renders = np.stack([world.render(world.parse(p)) for p in prompts])
        mean, _ = vae.encode_moments(imaging.to_unit(torch.from_numpy(renders).to(dev)))
        runs = {"vae_roundtrip": S.to_uint8_batch(vae.decode(mean))}
        for steps in [int(s) for s in args.steps.split(",")]:
            runs[f"{steps}step"] = S.generate_batch(te, unet, vae, tok, sf, prompts, range(len(prompts)), steps, dev)
        for run, images in runs.items():
            split = defaultdict(list)
            results = [judge.score(im, p) for im, p in zip(images, prompts)]
            for p, r in zip(prompts, results):
                for o, v in zip(world.parse(p).objects, r["objects"]):
                    pair = "heldout_pair" if (o.shape, o.colour) in world.HELDOUT_SHAPE_COLOUR else "seen_pair"
                    for key in ("all", pair, o.size, o.shape):
                        split[key].append(v["shape"])
            row = judge.aggregate(results)
            row["shape_by"] = {k: round(float(np.mean(v)), 3) for k, v in sorted(split.items())}
            report[f"{name}_{run}"] = row
            print(f"{name:11s} {run:13s} overall {row['overall']:.3f} shape {row['shape']:.3f} "
                  + " ".join(f"{k}={v:.2f}" for k, v in row["shape_by"].items()) + f"  ({time.time() - t0:.0f}s)", flush=True)
    with open(os.path.join(data.RUNS, "diagnose.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
