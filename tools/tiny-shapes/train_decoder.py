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
import imaging
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
    ap.add_argument("--device", default="cpu", help="cuda trains on a GPU (TF32 convolutions)")
    ap.add_argument("--count", type=int, default=data.DATA_COUNT, help="training scenes, as train_unet.py --count")
    ap.add_argument("--recolour", type=float, default=0.0,
                    help="share of the encoder-latent part of a batch recoloured at random (imaging.py), encoded on the fly")
    args = ap.parse_args()
    data.configure_torch(args.threads)
    dev = args.device
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    lat_path = data.latents_path(args.count)
    waited = 0
    while not os.path.exists(lat_path):  # computed by train_unet.py from the same frozen encoder (and the data with it)
        if waited >= 900:
            raise SystemExit(f"train_decoder.py: {lat_path} did not appear in 15 minutes (did train_unet.py fail?)")
        time.sleep(2)
        waited += 2
    captions, images = data.training_set(count=args.count)
    latents = torch.load(lat_path)
    noise_std = 0.1 * float(latents.std())
    images = torch.from_numpy(images).to(dev)
    latents = latents.to(dev)
    vae = M.AutoencoderKL(M.vae_config())
    vae.load_state_dict(torch.load(os.path.join(data.RUNS, args.init), map_location="cpu"))
    vae.to(dev)
    params = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    index = imaging.palette_index(images) if args.recolour > 0 else None
    gen = torch.Generator().manual_seed(2)
    predictor = Predictor(args.unet, captions, dev) if args.unet else None
    budget = args.minutes * 60.0
    log = open(os.path.join(data.RUNS, "decoder_log.txt"), "a")
    t0 = time.time()
    step = 0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * frac))
        idx = torch.from_numpy(rng.integers(0, len(images), args.batch)).to(dev)
        if index is not None:
            x = imaging.to_unit(imaging.recolour(images[idx], index[idx], args.recolour, gen))
            with torch.no_grad():
                z = vae.encode_moments(x)[0]
        else:
            x = imaging.to_unit(images[idx])
            z = latents[idx]
        z = z + noise_std * torch.randn_like(z)
        if predictor is not None and (not predictor.ready or step % args.reload_every == 0):
            predictor.reload()  # every step until the UNet trained alongside has written its first checkpoint
        if predictor is not None and predictor.ready:
            n_pred = int(round(args.pred_fraction * len(idx)))
            z[:n_pred] = predictor.x0(idx[:n_pred], latents, rng)
            x[:n_pred] = imaging.to_unit(images[idx[:n_pred]])  # predictions are of the palette-coloured scenes
        y = vae.decode(z)
        loss = imaging.reconstruction_loss(y, x, args.edge_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            msg = f"decoder step {step} loss {loss.item():.5f} t {time.time() - t0:.0f}s"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 100 == 0:
            data.save_atomic(data.cpu_state(vae), os.path.join(data.RUNS, "vae_final.pt"))
        step += 1
    data.save_atomic(data.cpu_state(vae), os.path.join(data.RUNS, "vae_final.pt"))
    with open(os.path.join(data.RUNS, "decoder_time.json"), "w") as f:
        json.dump({"seconds": time.time() - t0, "steps": step, "batch": args.batch}, f)


class Predictor:
    """The UNet's x0 prediction for training images, at the last timestep of a 1-, 2- or 4-step schedule
    (999, 499, 249; the true latent forward-noised to it), in unscaled latent units (what the decoder reads)."""

    def __init__(self, checkpoint: str, captions, device: str):
        import sampling as S
        self.path = os.path.join(data.RUNS, checkpoint)
        self.device = device
        self.caption_ids = data.CaptionIds(captions, device)
        self.sigmas = S.train_sigmas()
        self.te = M.CLIPTextModel(M.clip_config()).to(device)
        self.unet = M.UNet2DConditionModel(M.unet_config(M.clip_config()["hidden_size"])).to(device)
        self.scaling = 1.0
        self.ready = False  # until a checkpoint is read: a UNet trained alongside writes its first after a while

    def reload(self):
        if not os.path.exists(self.path):
            return
        try:
            ck = torch.load(self.path, map_location=self.device)
        except Exception as e:  # the UNet trainer may be rewriting it right now: keep the previous weights
            print(f"kept the previous UNet ({e.__class__.__name__})", flush=True)
            return
        self.te.load_state_dict(ck["text_encoder"])
        self.unet.load_state_dict(ck["unet"])
        self.te.eval()
        self.unet.eval()
        self.scaling = float(ck["scaling_factor"])
        self.ready = True
        print(f"decoding predictions of UNet step {ck['step']}", flush=True)

    @torch.no_grad()
    def x0(self, idx, latents, rng) -> torch.Tensor:
        x0 = latents[idx] * self.scaling
        t = rng.choice([999, 499, 249], size=len(idx), p=[0.5, 0.25, 0.25])
        sigma = torch.from_numpy(self.sigmas[t])[:, None, None, None].float().to(self.device)
        xt = x0 + sigma * torch.randn_like(x0)
        t = torch.from_numpy(t.astype(np.float32)).to(self.device)
        pred = self.unet(xt / torch.sqrt(sigma ** 2 + 1), t, self.te(self.caption_ids.ids(idx)))
        return pred / self.scaling


if __name__ == "__main__":
    main()
