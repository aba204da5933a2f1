"""Teaches the text encoder the whole grammar by caption distillation, with the UNet and the VAE frozen.

An under-specified caption ("a blue circle on a yellow background") is valid for many images; the model is taught
one of them, its default completion (world.complete_with_defaults: unstated size = large, one shape at the center,
two at the left and the right). Training the UNet on (caption, rendered completion) pairs (session 4 of the model
card) taught the new forms but, in the CPU minutes available, cost accuracy on the fully specified prompts the
model already drew right. Here the UNet never changes: the text encoder learns to map each under-specified caption
to the conditioning its frozen copy (the teacher) gives the completed caption,

    loss = MSE(student(under-specified caption), teacher(completed caption))       over all 77 positions
         + anchor * MSE(student(full caption), teacher(full caption))              (full captions keep their conditioning)

so the model draws the completion's image, and fully specified prompts keep (up to the anchor's residual) the
conditioning the UNet was trained on. Captions: world.underspecified_training_pairs (the completions of held-out
pairs are skipped there, so held-out pairs stay out of training as before) and the training scenes' captions.
No image is rendered: this is text-only and takes minutes on one CPU core.

Usage: TINYSHAPES_RUNS=runs python3 distill_text.py --init runs/unet_shipped.pt --steps 4000 --keep-every 1000
Writes runs/unet_ema.pt (and runs/text_distill_step<N>.pt) in train_unet.py's checkpoint format, so validate.py
and export.py read them as they are."""
from __future__ import annotations

import argparse
import copy
import hashlib
import math
import os
import time

import torch

import data
import model as M
import world
from clip_tokenizer import ClipTokenizer


def caption_pairs(seed: int, count: int):
    """(under-specified caption, completed caption) pairs and the fully specified training captions."""
    under = [(c, s.caption()) for c, s in world.underspecified_training_pairs(seed, count)]
    full = sorted({s.caption() for s in world.training_scenes(data.DATA_SEED, data.DATA_COUNT)})
    return under, full


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True, help="checkpoint to continue (train_unet.py format, e.g. from from_folder.py)")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64, help="under-specified captions per step (as many full ones)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--anchor", type=float, default=1.0, help="weight of the full-caption term")
    ap.add_argument("--count", type=int, default=data.DATA_COUNT, help="under-specified caption pairs")
    ap.add_argument("--keep-every", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-token-embedding", action="store_true",
                    help="also train the 49408x64 token table (only ~30 rows ever occur; freezing it makes a step ~10x cheaper)")
    args = ap.parse_args()
    data.configure_torch(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)

    t0 = time.time()
    under, full = caption_pairs(data.UNDERSPEC_SEED, args.count)
    tok = ClipTokenizer()
    ids = lambda captions: torch.tensor([tok.encode(c) for c in captions], dtype=torch.long)
    under_ids, completed_ids, full_ids = ids([u for u, _ in under]), ids([c for _, c in under]), ids(full)
    print(f"{len(under)} under-specified pairs, {len(full)} full captions ({time.time() - t0:.0f}s)", flush=True)

    init = torch.load(args.init, map_location="cpu")
    student = M.CLIPTextModel(M.clip_config())
    student.load_state_dict(init["text_encoder"])
    teacher = copy.deepcopy(student).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    completed_target, full_target = teacher_targets(teacher, completed_ids, full_ids, args.init)
    print(f"teacher targets {tuple(completed_target.shape)}, {tuple(full_target.shape)} ({time.time() - t0:.0f}s)", flush=True)

    student.text_model.embeddings.token_embedding.weight.requires_grad_(args.train_token_embedding)
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    step_offset = int(init.get("step") or 0)
    log = open(os.path.join(data.RUNS, "text_distill_log.txt"), "a")
    start = time.time()
    student.train()
    for step in range(1, args.steps + 1):
        lr = args.lr * min(1.0, step / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        u = torch.randint(0, len(under_ids), (args.batch,), generator=gen)
        f = torch.randint(0, len(full_ids), (args.batch,), generator=gen)
        loss_under = (student(under_ids[u]) - completed_target[u]).pow(2).mean()
        loss_full = (student(full_ids[f]) - full_target[f]).pow(2).mean()
        loss = loss_under + args.anchor * loss_full
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 100 == 0 or step == 1:
            msg = (f"step {step} under {loss_under.item():.5f} full {loss_full.item():.6f} lr {lr:.2e} "
                   f"t {time.time() - start:.0f}s")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if args.keep_every and step % args.keep_every == 0:
            save(student, init, step_offset, f"text_distill_step{step}.pt")
    save(student, init, step_offset, "unet_ema.pt")
    print(f"done: {args.steps} steps in {time.time() - start:.0f}s", flush=True)


def teacher_targets(teacher, completed_ids, full_ids, init_path):
    """The frozen teacher's outputs, computed once per (checkpoint, caption set) and cached beside the checkpoint."""
    key = hashlib.sha256(open(init_path, "rb").read() + completed_ids.numpy().tobytes() + full_ids.numpy().tobytes())
    path = os.path.join(data.RUNS, f"text_distill_targets_{key.hexdigest()[:16]}.pt")
    if os.path.exists(path):
        return torch.load(path)
    with torch.no_grad():
        targets = tuple(torch.cat([teacher(ids[i:i + 512]) for i in range(0, len(ids), 512)])
                        for ids in (completed_ids, full_ids))
    data.save_atomic(targets, path)
    return targets


def save(student, init, step_offset, name):
    """train_unet.py's checkpoint format: the distilled text encoder beside the unchanged UNet."""
    data.save_atomic({"text_encoder": data.cpu_state(student), "unet": init["unet"],
                      "scaling_factor": init["scaling_factor"], "step": step_offset, "seconds": 0.0,
                      "text_distill_steps": int(name.split("step")[-1].split(".")[0]) if "step" in name else None},
                     os.path.join(data.RUNS, name))


if __name__ == "__main__":
    main()
