"""Stage 1b: fine-tune the VAE decoder (post_quant_conv + decoder) on full 64x64 images with the encoder
frozen, so the UNet can train on the frozen encoder's latents at the same time.

Decoder input: the encoder mean plus a little Gaussian noise (0.1 x the latent std), so the decoder is
robust to small errors in the UNet's x0 predictions. Cosine learning rate over a wall-clock budget.
Writes runs/vae_final.pt (frozen encoder + fine-tuned decoder).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch

import data
import model as M


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=50.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", default="vae_stage1.pt",
                    help="VAE state dict in runs/ to start from (vae_final.pt resumes a finished run)")
    ap.add_argument("--edge-weight", type=float, default=0.0,
                    help="extra loss weight on pixels next to a colour edge; the judge classifies shapes by their "
                         "outline, which a plain MSE leaves soft")
    ap.add_argument("--unet", default=None,
                    help="UNet checkpoint in runs/ (unet_ema.pt): part of each batch decodes its x0 predictions instead of "
                         "encoder latents, so the decoder learns to draw crisp shapes from what the UNet actually produces")
    ap.add_argument("--pred-fraction", type=float, default=0.5, help="share of each batch taken from UNet predictions")
    ap.add_argument("--reload-every", type=int, default=200, help="steps between reloads of the (still training) UNet checkpoint")
    ap.add_argument("--threads", type=int, default=1,
                    help="1 is much faster than 2 on a busy shared 2-core machine (no OpenMP barrier spinning)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    captions, images = data.training_set()
    lat_path = os.path.join(data.RUNS, "latents.pt")
    while not os.path.exists(lat_path):  # computed by train_unet.py from the same frozen encoder
        time.sleep(10)
    time.sleep(5)
    latents = torch.load(lat_path)
    noise_std = 0.1 * float(latents.std())
    vae = M.AutoencoderKL(M.vae_config())
    vae.load_state_dict(torch.load(os.path.join(data.RUNS, args.init)))
    params = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    predictor = Predictor(args.unet, captions) if args.unet else None
    budget = args.minutes * 60.0
    log = open(os.path.join(data.RUNS, "decoder_log.txt"), "a")
    t0 = time.time()
    step = 0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * frac))
        idx = torch.from_numpy(rng.integers(0, len(images), args.batch))
        x = torch.from_numpy(images[idx.numpy()]).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        z = latents[idx] + noise_std * torch.randn_like(latents[idx])
        if predictor is not None:
            if step % args.reload_every == 0:
                predictor.reload()
            n_pred = int(round(args.pred_fraction * len(idx)))
            z[:n_pred] = predictor.x0(idx[:n_pred], latents, rng)
        y = vae.decode(z)
        w = 1.0 + args.edge_weight * edge_mask(x)
        loss = (w * (y - x).pow(2)).mean() + 0.1 * (w * (y - x).abs()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            msg = f"decoder step {step} loss {loss.item():.5f} t {time.time() - t0:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 100 == 0:
            torch.save(vae.state_dict(), os.path.join(data.RUNS, "vae_final.pt"))
        step += 1
    torch.save(vae.state_dict(), os.path.join(data.RUNS, "vae_final.pt"))
    with open(os.path.join(data.RUNS, "decoder_time.json"), "w") as f:
        json.dump({"seconds": time.time() - t0, "steps": step, "batch": args.batch}, f)


class Predictor:
    """The UNet's x0 prediction for training images, at the last timestep of a 1-, 2- or 4-step schedule
    (999, 499, 249; the true latent forward-noised to it), in unscaled latent units (what the decoder reads)."""

    def __init__(self, checkpoint: str, captions):
        from clip_tokenizer import ClipTokenizer
        import sampling as S
        self.path = os.path.join(data.RUNS, checkpoint)
        tok = ClipTokenizer()
        uniq = sorted(set(captions))
        cid = {c: i for i, c in enumerate(uniq)}
        self.ids_u = torch.tensor([tok.encode(c) for c in uniq], dtype=torch.long)
        self.cap_idx = torch.tensor([cid[c] for c in captions])
        self.sigmas = S.train_sigmas()
        self.te = M.CLIPTextModel(M.clip_config())
        self.unet = M.UNet2DConditionModel(M.unet_config(M.clip_config()["hidden_size"]))
        self.scaling = 1.0

    def reload(self):
        try:
            ck = torch.load(self.path)
        except Exception as e:  # the UNet trainer may be rewriting it right now: keep the previous weights
            print(f"kept the previous UNet ({e.__class__.__name__})", flush=True)
            return
        self.te.load_state_dict(ck["text_encoder"])
        self.unet.load_state_dict(ck["unet"])
        self.te.eval()
        self.unet.eval()
        self.scaling = float(ck["scaling_factor"])
        print(f"decoding predictions of UNet step {ck['step']}", flush=True)

    @torch.no_grad()
    def x0(self, idx, latents, rng) -> torch.Tensor:
        x0 = latents[idx] * self.scaling
        t = rng.choice([999, 499, 249], size=len(idx), p=[0.5, 0.25, 0.25])
        sigma = torch.from_numpy(self.sigmas[t])[:, None, None, None].float()
        xt = x0 + sigma * torch.randn_like(x0)
        pred = self.unet(xt / torch.sqrt(sigma ** 2 + 1), torch.from_numpy(t.astype(np.float32)), self.te(self.ids_u[self.cap_idx[idx]]))
        return pred / self.scaling


def edge_mask(x: torch.Tensor) -> torch.Tensor:
    """1 where a pixel's 3x3 neighbourhood holds more than one colour (the flat scenes' outlines), else 0."""
    hi = torch.nn.functional.max_pool2d(x, 3, 1, 1)
    lo = -torch.nn.functional.max_pool2d(-x, 3, 1, 1)
    return ((hi - lo).abs().amax(1, keepdim=True) > 1e-3).float()


if __name__ == "__main__":
    main()
