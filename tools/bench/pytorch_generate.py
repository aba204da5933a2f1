"""PyTorch CPU timing of the TinyShapes text-to-image pipeline, the counterpart of `MixDQ.Bench generate`.

Loads a diffusers folder with the TinyShapes PyTorch modules (tools/tiny-shapes: loader.py, model.py,
sampling.py) and times prompt -> text encoder -> N Euler steps of the UNet -> VAE decode -> uint8 pixels,
the same work as DiffusionPipeline.Generate: warm-up rounds, then the median of the timed runs, per step
count, with a breakdown per stage. Prints one JSON object on stdout. Run with /usr/bin/python3 (torch).

    /usr/bin/python3 tools/bench/pytorch_generate.py --model samples/models/tiny-shapes \
        --tools tools/tiny-shapes --threads 2 --runs 5 --warmup 2 --steps 1,2,4 [--noise noise.npy] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--tools", required=True, help="the folder holding the TinyShapes loader.py, model.py, sampling.py")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", default="1,2,4")
    p.add_argument("--prompt", default="a small red circle at the top left and a large blue square at the bottom right on a white background")
    p.add_argument("--noise", help="initial standard-normal latents [1,C,h,w] as .npy (else torch.randn with seed 0)")
    p.add_argument("--out-dir", help="writes the last image of each step count there as image_<steps>.npy (uint8 HWC)")
    a = p.parse_args()

    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(json.dumps({"error": f"PyTorch is not available: {e}"}))
        return 3
    sys.path.insert(0, os.path.abspath(a.tools))
    import loader
    import sampling as S

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    te, unet, vae, tok, sf = loader.load_folder(a.model)
    load_ms = (time.perf_counter() - t0) * 1e3
    if a.noise:
        noise = torch.from_numpy(np.load(a.noise).astype(np.float32))
    else:
        noise = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))

    @torch.no_grad()
    def generate(steps: int):
        """One image; returns (pixels, {stage: ms}). The stages are those the C# bench times."""
        marks = [time.perf_counter()]
        ids = torch.tensor([tok.encode(a.prompt)], dtype=torch.long)
        ctx = te(ids)
        marks.append(time.perf_counter())
        ts, sig = S.schedule(steps)
        x = noise * float(sig.max())
        for i, t in enumerate(ts):
            s = torch.tensor(sig[i])
            x0 = unet(x / ((s ** 2 + 1) ** 0.5), torch.tensor([t], dtype=torch.float32), ctx)
            x = x + (x - x0) / s * (torch.tensor(sig[i + 1]) - s)
        marks.append(time.perf_counter())
        pixels = S.to_uint8(vae.decode(x / sf))
        marks.append(time.perf_counter())
        ms = [(b - a_) * 1e3 for a_, b in zip(marks, marks[1:])]
        return pixels, {"total_ms": (marks[-1] - marks[0]) * 1e3, "text_ms": ms[0], "unet_step_ms": ms[1] / steps, "decode_ms": ms[2]}

    step_counts = [int(s) for s in a.steps.split(",")]
    # Warm-up as the C# bench does it: rounds over every step count, at least --warmup rounds and 2 seconds.
    start, rounds = time.perf_counter(), 0
    while rounds < a.warmup or time.perf_counter() - start < 2.0:
        for steps in step_counts:
            generate(steps)
        rounds += 1
    results = []
    for steps in step_counts:
        timed = [generate(steps) for _ in range(a.runs)]
        row = {"steps": steps, "runs": a.runs}
        for key in ("total_ms", "text_ms", "unet_step_ms", "decode_ms"):
            row[key] = statistics.median(t[1][key] for t in timed)
        row["best_total_ms"] = min(t[1]["total_ms"] for t in timed)
        results.append(row)
        if a.out_dir:
            np.save(os.path.join(a.out_dir, f"image_{steps}.npy"), timed[-1][0])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "load_ms": load_ms,
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                      "image": list(timed[-1][0].shape), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
