"""Stage 4: golden references for the C# runtime, computed from the exported folder (weights re-read from
the safetensors files, F16 text encoder upcast to F32, all math in F32). See README.md for the conventions.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

import loader
import sampling as S
import st_io

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "tiny-shapes"))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "golden", "tiny-shapes-golden.safetensors"))
PROMPT = "a small red circle at the top left and a large blue square at the bottom right on a white background"
VAE_PROMPT_SCENE = "a large yellow triangle at the center on a black background"


@torch.no_grad()
def main():
    torch.set_num_threads(2)
    te, unet, vae, tok, sf = loader.load_folder(FOLDER)
    g = torch.Generator().manual_seed(20261126)
    out = {}

    ids = torch.tensor([tok.encode(PROMPT)], dtype=torch.long)
    hidden = te(ids)
    out["prompt_ids"] = ids.numpy().astype(np.int32)
    out["text_hidden"] = hidden.numpy()

    # UNet at the first step of every schedule: the scaled noisy input the pipeline feeds it at t = 999.
    _, sig = S.schedule(4)
    noise = torch.randn(1, 4, 16, 16, generator=g)
    sample_in = noise * sig[0] / np.sqrt(sig[0] ** 2 + 1)
    out["unet_sample_in"] = sample_in.numpy()
    out["unet_timestep"] = np.array([999.0], dtype=np.float32)
    out["unet_out"] = unet(sample_in, torch.tensor([999.0]), hidden).numpy()
    # A second call at an intermediate timestep (t = 499, sigma 1.6129): x0-ish content plus moderate noise.
    sample2 = (torch.from_numpy(out["unet_out"]) + sig[2] * torch.randn(1, 4, 16, 16, generator=g)) / np.sqrt(sig[2] ** 2 + 1)
    out["unet2_sample_in"] = sample2.numpy()
    out["unet2_timestep"] = np.array([499.0], dtype=np.float32)
    out["unet2_out"] = unet(sample2, torch.tensor([499.0]), hidden).numpy()

    # VAE decoder: UNet-space latents of a rendered scene (encoder mean times scaling_factor).
    import world
    img = torch.from_numpy(world.render(world.parse(VAE_PROMPT_SCENE))).permute(2, 0, 1)[None].float() / 127.5 - 1
    mean, _ = vae.encode_moments(img)
    lat = mean * sf
    out["vae_latents_in"] = lat.numpy()
    out["vae_image_out"] = vae.decode(lat / sf).numpy()

    # Full pipeline runs from the same standard-normal noise: 4 steps and 1 step.
    init = torch.randn(1, 4, 16, 16, generator=g)
    out["pipe_init_noise"] = init.numpy()
    out["pipe_steps"] = np.array([4], dtype=np.int32)
    lat4, img4 = S.generate(te, unet, vae, tok, PROMPT, 4, init, sf)
    out["pipe_final_latents"] = lat4.numpy()
    out["pipe_image"] = S.to_uint8(img4)
    lat1, img1 = S.generate(te, unet, vae, tok, PROMPT, 1, init, sf)
    out["pipe1_final_latents"] = lat1.numpy()
    out["pipe1_image"] = S.to_uint8(img1)

    out = {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in out.items()}
    meta = {"format": "pt", "prompt": PROMPT, "vae_scene": VAE_PROMPT_SCENE, "scaling_factor": repr(sf),
            "pipe_steps": "4", "pipe1_steps": "1", "model": "samples/models/tiny-shapes",
            "conventions": "tools/tiny-shapes/README.md"}
    st_io.save(OUT, out, meta)
    print("wrote", OUT)
    for k, v in sorted(out.items()):
        print(f"  {k:22s} {str(v.dtype):8s} {list(v.shape)}  max|x| {np.abs(v.astype(np.float64)).max():.4f}")


if __name__ == "__main__":
    main()
