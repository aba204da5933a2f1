"""Chooses between UNet checkpoints on the validation prompt-form sets (world.validation_forms_prompts: seeds 10 and
11, less every evaluation prompt), never on the evaluation sets: the Python judge's accuracy per prompt form at 1 step
(seed = prompt index), with the decoder of runs/vae_final.pt. Also the fully specified held-out validation prompts of
seed 6 (the set diagnose.py --validation uses), the column that must not get worse.
Usage: python3 validate.py runs/unet_ema_step1000.pt runs/unet_shipped.pt ...   (writes runs/validate.json)"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

import data
import judge
import model as M
import sampling as S
import world
from clip_tokenizer import ClipTokenizer


def load(path: str):
    ck = torch.load(path, map_location="cpu")
    te = M.CLIPTextModel(M.clip_config())
    te.load_state_dict(ck["text_encoder"])
    unet = M.UNet2DConditionModel(M.unet_config(M.clip_config()["hidden_size"]))
    unet.load_state_dict(ck["unet"])
    return te.eval(), unet.eval(), float(ck["scaling_factor"]), ck.get("step")


def validation_sets():
    evaluation = set(world.heldout_prompts()) | set(world.indist_prompts())
    return {"val_heldout_forms": world.validation_forms_prompts("heldout"),
            "val_indist_forms": world.validation_forms_prompts("indist"),
            "val_heldout_full": [p for p in world.heldout_prompts(seed=6) if p not in evaluation]}


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoints", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TINYSHAPES_THREADS", "1")))
    vae = M.AutoencoderKL(M.vae_config())
    vae.load_state_dict(torch.load(os.path.join(data.RUNS, "vae_final.pt"), map_location="cpu"))
    vae.eval()
    tok = ClipTokenizer()
    sets = validation_sets()
    report = {}
    for path in args.checkpoints:
        t0 = time.time()
        te, unet, sf, step = load(path)
        rows = {}
        for name, prompts in sets.items():
            images = []
            for i in range(0, len(prompts), 64):
                images += S.generate_batch(te, unet, vae, tok, sf, prompts[i:i + 64], range(i, min(i + 64, len(prompts))), 1)
            results = [judge.score(im, p) for im, p in zip(images, prompts)]
            rows[name] = judge.aggregate(results)
            by_form = {}
            for p, r in zip(prompts, results):
                by_form.setdefault(world.form_of(world.parse(p)), []).append(r)
            for form, rs in by_form.items():
                rows[f"{name}/{form}"] = judge.aggregate(rs)
        report[path] = {"step": step, "rows": rows}
        worst = min(v["overall"] for k, v in rows.items() if "/" in k)
        print(f"{os.path.basename(path)} step {step}: " + "  ".join(
            f"{k.replace('val_', '')} {v['overall']:.3f}/{v['shape']:.3f}" for k, v in rows.items()) + f"  worst-form overall {worst:.3f}"
              f" ({time.time() - t0:.0f}s)", flush=True)
    with open(os.path.join(data.RUNS, "validate.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
