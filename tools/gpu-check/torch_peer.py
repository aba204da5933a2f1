"""PyTorch peer of gpu-check: the same UNet config (the TinyShapes training modules, tools/tiny-shapes/model.py, which
mirror diffusers' UNet2DConditionModel) in FP16, eager and torch.compile, one step at batch 1. Prints markdown rows.

usage: torch_peer.py CONFIG_JSON LATENT CONTEXT_LEN ITERATIONS [--device cuda|cpu] [--no-compile]
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tiny-shapes"))
import torch  # noqa: E402
from model import UNet2DConditionModel  # noqa: E402


def timed_steps(fn, iterations, sync):
    times = []
    for _ in range(iterations):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    config_path, latent, context_len, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cuda"
    compile_too = "--no-compile" not in sys.argv
    torch.set_num_threads(2)
    cfg = json.load(open(config_path))
    name = os.path.splitext(os.path.basename(config_path))[0]
    dtype = torch.float16 if device == "cuda" else torch.float32
    label = "FP16" if dtype == torch.float16 else "FP32"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(cfg).to(device=device, dtype=dtype).eval()
    sample = torch.randn(1, cfg["in_channels"], latent, latent, device=device, dtype=dtype)
    ctx = torch.randn(1, context_len, cfg["cross_attention_dim"], device=device, dtype=dtype)
    t = torch.tensor([999.0], device=device)
    weight_mib = sum(p.numel() * p.element_size() for p in unet.parameters()) / 2**20
    rows = []
    with torch.no_grad():
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        unet(sample, t, ctx)
        sync()
        first = time.perf_counter() - start
        ms = timed_steps(lambda: unet(sample, t, ctx), iterations, sync)
        peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
        rows.append(f"| torch {name} {label} eager latency | {ms:.1f} ms | median of {iterations} steps, first step {first:.2f} s, "
                    f"weights {weight_mib:.0f} MiB, peak {peak:.0f} MiB, torch {torch.__version__} on {device} |")
        if compile_too:
            try:
                compiled = torch.compile(unet)
                start = time.perf_counter()
                compiled(sample, t, ctx)
                sync()
                compile_s = time.perf_counter() - start
                ms = timed_steps(lambda: compiled(sample, t, ctx), iterations, sync)
                rows.append(f"| torch {name} {label} torch.compile latency | {ms:.1f} ms | median of {iterations} steps, compile + first step {compile_s:.1f} s |")
            except Exception as e:  # the peer is informative; a failing compiler must not hide the eager row
                rows.append(f"| torch {name} {label} torch.compile latency | n/a | {type(e).__name__}: {str(e)[:120]} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
