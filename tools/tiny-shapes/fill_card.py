"""Fills the measured numbers into samples/models/tiny-shapes/README.md (placeholders in capitals)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "models", "tiny-shapes"))
RUNS = os.path.join(HERE, "runs")


def size(path):
    p = os.path.join(FOLDER, path)
    if os.path.isdir(p):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)
    return os.path.getsize(p)


def mb(b):
    return f"{b / 1e6:.2f} MB"


def mins(s):
    return f"{s / 60:.1f} min"


def main():
    card_path = os.path.join(FOLDER, "README.md")
    card = open(card_path).read()
    unet = json.load(open(os.path.join(RUNS, "unet_time.json")))
    dec = json.load(open(os.path.join(RUNS, "decoder_time.json")))
    ev = json.load(open(os.path.join(FOLDER, "pytorch_eval.json")))
    cfg = json.load(open(os.path.join(FOLDER, "vae", "config.json")))
    # Seconds of the earlier UNet phases (phase A, phase B) that unet_time.json of the last phase does not include.
    earlier = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    unet_total = unet["seconds"] + earlier
    rows = []
    for key, v in ev.items():
        if key == "settings":
            continue
        name, steps = key.split("_")
        rows.append(f"| {name} | {steps.replace('step', '')} | {v['prompts']} | {v['overall']:.3f} | {v['background']:.3f} | "
                    f"{v['count']:.3f} | {v['shape']:.3f} | {v['colour']:.3f} | {v['size']:.3f} | {v['position']:.3f} |")
    table = ("| prompt set | steps | prompts | overall | background | count | shape | colour | size | position |\n"
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))
    grid = open(os.path.join(FOLDER, "grid_prompts.md")).read().strip()
    total_files = sum(size(p) for p in os.listdir(FOLDER))
    rep = {
        "GRID_TABLE": grid,
        "EVAL_TABLE": table + f"\n\nEvaluated {ev['settings']['prompts_per_set']} prompts per set (half one-shape, half two-shape, "
                              f"the first of each kind in the files) in {mins(ev['settings']['seconds'])} on the same CPU.",
        "SIZE_TE": mb(size("text_encoder")), "SIZE_TOK": mb(size("tokenizer")), "SIZE_UNET": mb(size("unet")),
        "SIZE_VAE": mb(size("vae")), "SIZE_TOTAL": mb(total_files),
        "SCALING": f"{cfg['scaling_factor']:.5f}",
        "DEC_STEPS": str(dec["steps"]), "DEC_TIME": mins(dec["seconds"]),
        "UNET_STEPS": str(unet["steps"]), "UNET_TIME": mins(unet_total),
        "UNET_SAMPLES": f"{unet['steps'] * 32:,}",
        "VAE_STAGE1_TIME": "about 9 min",
        "TOTAL_TIME": f"about {round((9 * 60 + 140 + unet_total) / 60)} min of training (stage 1, latent encoding 2.3 min, then stages 2 and 3 in parallel, then phase C); 11:48 to 13:31 UTC on the clock including restarts",
    }
    for k, v in rep.items():
        card = card.replace(k, v)
    open(card_path, "w").write(card)
    os.remove(os.path.join(FOLDER, "grid_prompts.md"))
    print("card filled")


if __name__ == "__main__":
    main()
