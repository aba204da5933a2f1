"""PyTorch's INT8 linear (torch.ao.quantization.quantize_dynamic: per-tensor dynamic u8 activations, s8 weights,
fbgemm/oneDNN) and its FP32 linear on the same shapes, for `bench int8`. Prints one line per shape:
`M K N fp32_ms int8_ms` (medians). Usage: pytorch_int8_linear.py THREADS RUNS M,K,N [M,K,N ...]"""
import sys
import time

import torch


def median_ms(fn, runs):
    fn()
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    threads, runs = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, engine {torch.backends.quantized.engine}, {torch.get_num_threads()} threads")
    for spec in sys.argv[3:]:
        m, k, n = (int(v) for v in spec.split(","))
        fp = torch.nn.Sequential(torch.nn.Linear(k, n)).eval()
        q = torch.ao.quantization.quantize_dynamic(fp, {torch.nn.Linear}, dtype=torch.qint8)
        x = torch.randn(m, k)
        with torch.inference_mode():
            fp_ms = median_ms(lambda: fp(x), runs)
            q_ms = median_ms(lambda: q(x), runs)
        print(f"{m} {k} {n} {fp_ms:.3f} {q_ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
