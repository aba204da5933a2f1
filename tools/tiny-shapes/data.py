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


def latents_path(count: int = DATA_COUNT) -> str:
    """Frozen-encoder latents of training_set(count), written by train_unet.py."""
    return os.path.join(RUNS, "latents.pt" if count == DATA_COUNT else f"latents_{count}.pt")
