"""Dataset helpers: rendered training scenes as uint8 arrays, cached in runs/."""
from __future__ import annotations

import os
from multiprocessing import Pool

import numpy as np

import world

RUNS = os.environ.get("TINYSHAPES_RUNS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")
DATA_SEED = 1234
DATA_COUNT = 16000


def training_set(seed: int = DATA_SEED, count: int = DATA_COUNT):
    """(captions list, uint8 images [N,64,64,3]); cached as runs/data_<seed>_<count>.npz.
    The scenes are one random sequence, so a larger count is a superset of a smaller one."""
    os.makedirs(RUNS, exist_ok=True)
    path = os.path.join(RUNS, f"data_{seed}_{count}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return [str(c) for c in z["captions"]], z["images"]
    scenes = world.training_scenes(seed, count)
    captions = [s.caption() for s in scenes]
    with Pool(min(16, os.cpu_count() or 1)) as pool:  # rendering is pure Python: spread it over the cores
        images = np.stack(pool.map(world.render, scenes, chunksize=500))
    np.savez(path, captions=np.array(captions), images=images)
    return captions, images


UNDERSPEC_SEED = 4321


def underspecified_set(seed: int = UNDERSPEC_SEED, count: int = DATA_COUNT):
    """(captions, uint8 images) of world.underspecified_training_pairs: captions that leave out sizes and/or
    positions, images completed with the model's defaults; cached as runs/underspec_<seed>_<count>.npz."""
    os.makedirs(RUNS, exist_ok=True)
    path = os.path.join(RUNS, f"underspec_{seed}_{count}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return [str(c) for c in z["captions"]], z["images"]
    pairs = world.underspecified_training_pairs(seed, count)
    captions = [c for c, _ in pairs]
    images = np.stack([world.render(s) for _, s in pairs])
    np.savez(path, captions=np.array(captions), images=images)
    return captions, images


def configure_torch(threads: int) -> None:
    """CPU threads, and TF32 for matmuls and convolutions where a CUDA device trains."""
    import torch
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def save_atomic(obj, path: str) -> None:
    """torch.save through a temporary file: trainers running side by side read each other's checkpoints
    and latents while they are rewritten, and must never see half a file."""
    import torch
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def cpu_state(module) -> dict:
    """A module's state dict on the CPU (loadable on any machine, whatever device trained it)."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


class CaptionIds:
    """Token ids of a training set's captions, each distinct caption tokenized once (67,807 of 160,000):
    `ids(index)` gives the [batch, 77] ids of training examples `index` (a tensor on `device`)."""

    def __init__(self, captions, device: str = "cpu"):
        import torch
        from clip_tokenizer import ClipTokenizer
        tok = ClipTokenizer()
        distinct = sorted(set(captions))
        row = {c: i for i, c in enumerate(distinct)}
        self.table = torch.tensor([tok.encode(c) for c in distinct], dtype=torch.long, device=device)
        self.row_of = torch.tensor([row[c] for c in captions], device=device)

    def ids(self, index):
        return self.table[self.row_of[index]]


def latents_path(count: int = DATA_COUNT) -> str:
    """Frozen-encoder latents of training_set(count), written by train_unet.py."""
    return os.path.join(RUNS, "latents.pt" if count == DATA_COUNT else f"latents_{count}.pt")
