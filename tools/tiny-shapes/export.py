"""Stage 3: write the trained model as a genuine diffusers folder (samples/models/tiny-shapes).

UNet and VAE (encoder included) are stored F32; the text encoder F16 (its 49408x64 token embedding is
most of its size), keeping the folder under 25 MB. Tensor names are the state_dict names, which are
the diffusers / transformers names by construction (model.py).
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import torch

import data
import loader
import model as M
import st_io
from clip_tokenizer import ClipTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "tiny-shapes"))

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.31.0",
    "feature_extractor": [None, None],
    "image_encoder": [None, None],
    "requires_safety_checker": False,
    "safety_checker": [None, None],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}

SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": "0.31.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "final_sigmas_type": "zero",
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "sample",
    "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "sigma_max": None,
    "sigma_min": None,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "trailing",
    "timestep_type": "discrete",
    "trained_betas": None,
    "use_beta_sigmas": False,
    "use_exponential_sigmas": False,
    "use_karras_sigmas": False,
}


def _json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def _weights(path, module, dtype):
    tensors = {k: v.detach().cpu().numpy().astype(dtype) for k, v in module.state_dict().items()}
    st_io.save(path, tensors, {"format": "pt"})


def main():
    te, unet, vae, scaling, step = loader.load_checkpoints(data.RUNS)

    if os.path.isdir(OUT):
        for sub in ("scheduler", "text_encoder", "tokenizer", "unet", "vae"):
            shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    _json(os.path.join(OUT, "model_index.json"), MODEL_INDEX)
    _json(os.path.join(OUT, "scheduler", "scheduler_config.json"), SCHEDULER)
    _json(os.path.join(OUT, "text_encoder", "config.json"), M.clip_config())
    _json(os.path.join(OUT, "unet", "config.json"), M.unet_config(M.clip_config()["hidden_size"]))
    _json(os.path.join(OUT, "vae", "config.json"), M.vae_config(scaling))
    ClipTokenizer().write_hf_files(os.path.join(OUT, "tokenizer"))
    _weights(os.path.join(OUT, "text_encoder", "model.safetensors"), te, np.float16)
    _weights(os.path.join(OUT, "unet", "diffusion_pytorch_model.safetensors"), unet, np.float32)
    _weights(os.path.join(OUT, "vae", "diffusion_pytorch_model.safetensors"), vae, np.float32)
    for name in ("heldout_prompts.txt", "heldout_forms_prompts.txt", "indist_forms_prompts.txt"):  # mixdq evaluate's defaults
        shutil.copy(os.path.join(HERE, name), os.path.join(OUT, name))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"exported to {OUT}: {total / 1e6:.2f} MB, scaling_factor {scaling:.5f}, unet step {step}")


if __name__ == "__main__":
    main()
