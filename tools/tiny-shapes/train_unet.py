"""Stage 2: train the CLIPTextModel and the UNet2DConditionModel jointly, from scratch, on VAE
latents of rendered Tiny Shapes scenes.

Few-step recipe: the UNet predicts x0 (prediction_type "sample") from
    model_in = (x0 + sigma_t * eps) / sqrt(sigma_t^2 + 1),  t in TRAIN_TIMESTEPS = {999, 749, 666, 499, 332, 249}
(the trailing timesteps of the 1-4 step Euler schedules), so inference at 1-4 steps sees exactly its
training timesteps. The learning rate follows a cosine over a wall-clock budget, so training ends
annealed whenever the budget runs out. EMA weights are exported.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time

import numpy as np
import torch

import data
import model as M
import sampling as S


@torch.no_grad()
def encode_latents(vae, images: np.ndarray, device: str, batch: int = 256) -> torch.Tensor:
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i:i + batch]).to(device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        mean, _ = vae.encode_moments(x)
        out.append(mean.cpu())
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=42.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--init", default=None, help="continue from an exported EMA checkpoint (runs/unet_ema.pt)")
    ap.add_argument("--shape-weight", type=float, default=0.0,
                    help="extra loss weight on latent positions that differ from the image's background")
    ap.add_argument("--new-latents", action="store_true",
                    help="--init was trained on another VAE's latents: warm-start from it but take the latent scale from this data")
    ap.add_argument("--step-offset", type=int, default=0, help="steps already done by the --init run (for logs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="1 is much faster than 2 on a busy shared 2-core machine (no OpenMP barrier spinning)")
    ap.add_argument("--device", default="cpu", help="cuda trains on a GPU (TF32 matmuls)")
    ap.add_argument("--count", type=int, default=data.DATA_COUNT,
                    help="training scenes (a larger count is a superset of the default 16,000)")
    ap.add_argument("--underspec-rate", type=float, default=0.0,
                    help="fraction of training examples whose caption leaves out sizes and/or positions (data.underspecified_set)")
    ap.add_argument("--underspec-count", type=int, default=data.DATA_COUNT)
    ap.add_argument("--keep-every", type=int, default=0,
                    help="also keep the EMA checkpoint every N steps as unet_ema_step<N>.pt (to choose one on validation sets)")
    args = ap.parse_args()
    data.configure_torch(args.threads)
    dev = args.device
    torch.manual_seed(1)
    gen = torch.Generator(device=dev).manual_seed(1)  # batches are drawn on the device: no host copies per step
    t0 = time.time()
    captions, images = data.training_set(count=args.count)
    print(f"{len(captions)} training scenes ({time.time() - t0:.0f}s)", flush=True)
    n_full = len(captions)
    if args.underspec_rate > 0:
        u_captions, u_images = data.underspecified_set(count=args.underspec_count)
        captions, images = captions + u_captions, np.concatenate([images, u_images])
        print(f"{len(u_captions)} under-specified captions, drawn at rate {args.underspec_rate}", flush=True)

    vae = M.AutoencoderKL(M.vae_config())
    vae.load_state_dict(torch.load(os.path.join(data.RUNS, "vae.pt"), map_location="cpu"))
    vae.to(dev).eval()
    lat_path = data.latents_path(args.count)
    if os.path.exists(lat_path) and not args.new_latents:
        latents = torch.load(lat_path)
    else:
        latents = encode_latents(vae, images[:n_full], dev)
        data.save_atomic(latents, lat_path)  # train_decoder.py waits for this file
    if args.underspec_rate > 0:
        u_path = os.path.join(data.RUNS, f"latents_underspec_{args.underspec_count}.pt")
        if os.path.exists(u_path) and not args.new_latents:
            u_latents = torch.load(u_path)
        else:
            u_latents = encode_latents(vae, images[n_full:], dev)
            data.save_atomic(u_latents, u_path)
        latents = torch.cat([latents, u_latents])
    del vae
    init = torch.load(args.init, map_location="cpu") if args.init else None
    # A continued run keeps its latent scale (the UNet was trained on it), whatever the data count.
    scaling = float(init["scaling_factor"]) if init and not args.new_latents else float(1.0 / latents.std())
    print(f"latents {tuple(latents.shape)} std {latents.std():.4f} mean {latents.mean():.4f} -> scaling_factor {scaling:.5f}"
          f" ({time.time() - t0:.0f}s)", flush=True)
    x0_all = (latents * scaling).to(dev)
    # Shape mask per latent position: far from the per-image median latent (the background covers > 50%).
    med = x0_all.flatten(2).median(dim=2).values[:, :, None, None]
    shape_mask = ((x0_all - med).pow(2).sum(1, keepdim=True).sqrt() > 0.5).float()
    print(f"shape mask covers {shape_mask.mean():.3f} of latent positions", flush=True)

    caption_ids = data.CaptionIds(captions, dev)

    te = M.CLIPTextModel(M.clip_config())
    unet = M.UNet2DConditionModel(M.unet_config(M.clip_config()["hidden_size"]))
    if init:
        te.load_state_dict(init["text_encoder"])
        unet.load_state_dict(init["unet"])
    te.to(dev)
    unet.to(dev)
    params = list(te.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    ema_te, ema_unet = copy.deepcopy(te), copy.deepcopy(unet)
    ema_params = list(ema_te.parameters()) + list(ema_unet.parameters())

    sig_table = torch.from_numpy(S.train_sigmas()).to(dev)
    ts_choices = torch.tensor(S.TRAIN_TIMESTEPS, dtype=torch.float32, device=dev)
    # 999 starts every schedule (and is the whole 1-step schedule): give it extra weight.
    probs = torch.tensor([0.3 if t == 999 else 0.7 / (len(ts_choices) - 1) for t in S.TRAIN_TIMESTEPS], device=dev)

    budget = args.minutes * 60.0
    log = open(os.path.join(data.RUNS, "unet_log.txt"), "a")
    start = time.time()
    step, running = 0, 0.0
    while True:
        elapsed = time.time() - start
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, n_full, (args.batch,), device=dev, generator=gen)
        if args.underspec_rate > 0:
            under = torch.rand(args.batch, device=dev, generator=gen) < args.underspec_rate
            u_idx = n_full + torch.randint(0, len(x0_all) - n_full, (args.batch,), device=dev, generator=gen)
            idx = torch.where(under, u_idx, idx)
        x0 = x0_all[idx]
        t = ts_choices[torch.multinomial(probs, args.batch, replacement=True, generator=gen)]
        sigma = sig_table[t.long()][:, None, None, None]
        xt = x0 + sigma * torch.randn(x0.shape, device=dev, generator=gen)
        ctx = te(caption_ids.ids(idx))
        pred = unet(xt / torch.sqrt(sigma ** 2 + 1), t, ctx)
        weight = 1.0 + args.shape_weight * shape_mask[idx]
        loss = (weight * (pred - x0).pow(2)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + step + args.step_offset) / (10 + step + args.step_offset))
            torch._foreach_mul_(ema_params, d)
            torch._foreach_add_(ema_params, params, alpha=1 - d)
        # A tensor, not .item(): reading the loss every step would stall a GPU's queue.
        running = 0.98 * running + 0.02 * loss.detach() if step else loss.detach()
        if step % 25 == 0:
            msg = f"step {step + args.step_offset} loss {float(running):.4f} lr {lr:.2e} t {elapsed:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 250 == 0 and step > 0:
            save(ema_te, ema_unet, scaling, step + args.step_offset, time.time() - start)
        if args.keep_every and step % args.keep_every == 0 and step > 0:
            save(ema_te, ema_unet, scaling, step + args.step_offset, time.time() - start,
                 f"unet_ema_step{step + args.step_offset}.pt")
        step += 1
    save(ema_te, ema_unet, scaling, step + args.step_offset, time.time() - start)
    print(f"done: {step} steps in {time.time() - start:.0f}s", flush=True)


def save(te, unet, scaling, step, seconds, name="unet_ema.pt"):
    data.save_atomic({"text_encoder": data.cpu_state(te), "unet": data.cpu_state(unet), "scaling_factor": scaling,
                      "step": step, "seconds": seconds}, os.path.join(data.RUNS, name))
    if name != "unet_ema.pt":
        return
    with open(os.path.join(data.RUNS, "unet_time.json"), "w") as f:
        json.dump({"steps": step, "seconds": seconds, "scaling_factor": scaling}, f)


if __name__ == "__main__":
    main()
