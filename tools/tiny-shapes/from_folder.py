"""Seeds a runs/ directory from an exported folder (samples/models/tiny-shapes), so training continues from the
shipped weights where the checkpoints that made them are gone: writes unet_ema.pt (text encoder upcast from F16,
UNet, scaling factor), vae.pt and vae_final.pt (the folder's VAE: its encoder makes the latents, its decoder is kept).
Usage: TINYSHAPES_RUNS=runs python3 from_folder.py [folder] [--step N]"""
from __future__ import annotations

import argparse
import os

import data
import loader


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "..", "..", "samples", "models", "tiny-shapes"))
    ap.add_argument("--step", type=int, default=0, help="UNet steps the folder's weights were trained for (for the EMA warm-up)")
    args = ap.parse_args()
    te, unet, vae, _, scaling = loader.load_folder(args.folder)
    os.makedirs(data.RUNS, exist_ok=True)
    data.save_atomic({"text_encoder": data.cpu_state(te), "unet": data.cpu_state(unet), "scaling_factor": scaling,
                      "step": args.step, "seconds": 0.0}, os.path.join(data.RUNS, "unet_ema.pt"))
    for name in ("vae.pt", "vae_final.pt"):
        data.save_atomic(data.cpu_state(vae), os.path.join(data.RUNS, name))
    print(f"seeded {data.RUNS} from {os.path.normpath(args.folder)} (scaling_factor {scaling:.5f})")


if __name__ == "__main__":
    main()
