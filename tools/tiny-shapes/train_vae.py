"""Stage 1: train the AutoencoderKL on rendered Tiny Shapes images (64x64 -> 4x16x16 latents).

Most steps use random 32x32 crops (the VAE is convolutional; only the mid attention sees the crop
size) which costs a quarter of full images on the 2-core CPU; the last steps use full images.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import data
import imaging
import model as M


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--full-steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--kl", type=float, default=1e-4)
    ap.add_argument("--init", default=None, help="state_dict to continue from")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="if > 0: full 64x64 images only, cosine learning rate over this wall-clock budget")
    ap.add_argument("--device", default="cpu", help="cuda trains on a GPU (timed mode only)")
    ap.add_argument("--count", type=int, default=data.DATA_COUNT, help="training scenes (timed mode only)")
    ap.add_argument("--recolour", type=float, default=0.0,
                    help="timed mode: share of images whose palette colours are replaced by random colours (imaging.py)")
    ap.add_argument("--edge-weight", type=float, default=0.0, help="timed mode: extra loss weight on colour edges")
    args = ap.parse_args()
    data.configure_torch(2)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    _, images = data.training_set(count=args.count if args.minutes > 0 else data.DATA_COUNT)
    vae = M.AutoencoderKL(M.vae_config())
    if args.init:
        vae.load_state_dict(torch.load(args.init, map_location="cpu"))
    if args.minutes > 0:
        return train_timed(vae.to(args.device), torch.from_numpy(images).to(args.device), rng, args)
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    opt = torch.optim.Adam(vae.parameters(), lr=args.lr)
    total = args.steps + args.full_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.05)
    t0 = time.time()
    log = open(os.path.join(data.RUNS, "vae_log.txt"), "a")
    for step in range(total):
        idx = torch.from_numpy(rng.integers(0, len(x_all), args.batch))
        x = x_all[idx]
        if step < args.steps:
            oy, ox = rng.integers(0, 33, 2)
            x = x[:, :, oy:oy + 32, ox:ox + 32]
        mean, logvar = vae.encode_moments(x)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        y = vae.decode(z)
        rec = imaging.reconstruction_loss(y, x, 0.0)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        loss = rec + args.kl * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == total - 1:
            msg = f"step {step} rec {rec.item():.5f} kl {kl.item():.3f} zstd {mean.std().item():.3f} t {time.time() - t0:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 200 == 0 or step == total - 1:
            torch.save(vae.state_dict(), os.path.join(data.RUNS, "vae.pt"))
    with open(os.path.join(data.RUNS, "vae_time.json"), "w") as f:
        json.dump({"seconds": time.time() - t0, "steps": total, "batch": args.batch}, f)


def train_timed(vae, images, rng, args):
    """Full-image training with a cosine learning rate over a wall-clock budget (ends annealed on time)."""
    import math
    index = imaging.palette_index(images) if args.recolour > 0 else None
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(vae.parameters(), lr=args.lr)
    budget = args.minutes * 60.0
    log = open(os.path.join(data.RUNS, "vae_log.txt"), "a")
    t0 = time.time()
    step = 0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * frac))
        idx = torch.from_numpy(rng.integers(0, len(images), args.batch)).to(images.device)
        batch = images[idx]
        if index is not None:
            batch = imaging.recolour(batch, index[idx], args.recolour, gen)
        x = imaging.to_unit(batch)
        mean, logvar = vae.encode_moments(x)
        y = vae.decode(mean + torch.randn_like(mean) * torch.exp(0.5 * logvar))
        rec = imaging.reconstruction_loss(y, x, args.edge_weight)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        opt.zero_grad()
        (rec + args.kl * kl).backward()
        opt.step()
        if step % 25 == 0:
            msg = f"full step {step} rec {rec.item():.5f} kl {kl.item():.3f} t {time.time() - t0:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 100 == 0:
            data.save_atomic(data.cpu_state(vae), os.path.join(data.RUNS, "vae.pt"))
        step += 1
    data.save_atomic(data.cpu_state(vae), os.path.join(data.RUNS, "vae.pt"))
    with open(os.path.join(data.RUNS, "vae_time.json"), "w") as f:
        json.dump({"stage2_seconds": time.time() - t0, "stage2_steps": step, "batch": args.batch}, f)


if __name__ == "__main__":
    main()
