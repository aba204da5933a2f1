#!/usr/bin/env bash
# Two Tiny Shapes training recipes side by side on one CUDA GPU, about 8.5 minutes in all
# (the GPU lease of a session is 15 minutes), then diagnose.py on both:
#   a: the committed model's recipe continued: UNet + text encoder on the frozen encoder's latents of
#      160k scenes, decoder on encoder latents and on the UNet's own predictions;
#   b: a colour-agnostic codec first (VAE warm-started from the committed one, half of its images
#      recoloured at random, see imaging.py), then UNet + text encoder warm-started on its new latents,
#      decoder likewise.
# Usage: train_gpu.sh INIT_DIR WORK_DIR OUT_DIR
#   INIT_DIR holds unet_ema.pt and vae_final.pt (runs/ of the last CPU session); OUT_DIR receives each
#   recipe's checkpoints (text encoder and UNet in separate files, each < 16 MiB) and logs.tar.gz.
#   TINYSHAPES_GPU_SCALE (default 1) scales every time budget, TINYSHAPES_GPU_COUNT the scenes,
#   TINYSHAPES_DEVICE the device: `TINYSHAPES_DEVICE=cpu TINYSHAPES_GPU_SCALE=0.03 TINYSHAPES_GPU_COUNT=3000`
#   is a smoke test on a CPU.
set -u
here=$(cd "$(dirname "$0")" && pwd)
init=$(realpath "$1"); work=$(realpath -m "$2"); out=$(realpath -m "$3")
scale=${TINYSHAPES_GPU_SCALE:-1}; count=${TINYSHAPES_GPU_COUNT:-160000}; dev=${TINYSHAPES_DEVICE:-cuda}
py=${PYTHON:-python3}
min() { awk -v m="$1" -v s="$scale" 'BEGIN { printf "%.3f", m * s }'; }
lim() { awk -v m="$1" -v s="$scale" 'BEGIN { printf "%d", m * s * 60 + 120 }'; }   # hard stop per process
export PYTHONUNBUFFERED=1
cd "$here" || exit 1
mkdir -p "$work/a" "$work/b" "$out"
cp "$init/unet_ema.pt" "$work/a/unet_init.pt"; cp "$init/unet_ema.pt" "$work/a/unet_ema.pt"
cp "$init/vae_final.pt" "$work/a/vae.pt"; cp "$init/vae_final.pt" "$work/a/vae_final.pt"
cp "$init/unet_ema.pt" "$work/b/unet_init.pt"; cp "$init/vae_final.pt" "$work/b/vae_init.pt"
offset=$($py -c "import torch; print(torch.load('$init/unet_ema.pt', map_location='cpu')['step'])")

echo "== data: $count scenes"; date
TINYSHAPES_RUNS="$work/a" $py -c "import data; data.training_set(count=$count)" || exit 1
ln -sf "$work/a/data_1234_$count.npz" "$work/b/"
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null

common="--device $dev --count $count"
A() { TINYSHAPES_RUNS="$work/a" timeout "$1" $py "${@:2}"; }
B() { TINYSHAPES_RUNS="$work/b" timeout "$1" $py "${@:2}"; }
A "$(lim 6.5)" train_unet.py $common --init "$work/a/unet_init.pt" --step-offset "$offset" --minutes "$(min 6.5)" \
  --batch 256 --lr 3e-4 --shape-weight 4 --ema 0.999 >"$work/a/unet.out" 2>&1 &
A "$(lim 6.5)" train_decoder.py $common --init vae_final.pt --unet unet_ema.pt --pred-fraction 0.5 --edge-weight 4 \
  --batch 64 --lr 1e-4 --minutes "$(min 6.5)" >"$work/a/decoder.out" 2>&1 &
(
  B "$(lim 2)" train_vae.py $common --init "$work/b/vae_init.pt" --minutes "$(min 2)" --batch 64 --lr 5e-4 \
    --recolour 0.5 --edge-weight 4 >"$work/b/vae.out" 2>&1
  cp "$work/b/vae.pt" "$work/b/vae_final.pt"
  B "$(lim 4.25)" train_unet.py $common --init "$work/b/unet_init.pt" --new-latents --minutes "$(min 4.25)" \
    --batch 256 --lr 5e-4 --shape-weight 4 --ema 0.999 >"$work/b/unet.out" 2>&1 &
  B "$(lim 4.25)" train_decoder.py $common --init vae_final.pt --unet unet_ema.pt --pred-fraction 0.5 --edge-weight 4 \
    --recolour 0.5 --batch 64 --lr 1e-4 --minutes "$(min 4.25)" >"$work/b/decoder.out" 2>&1 &
  wait
) &
while [ "$(jobs -r | wc -l)" -gt 0 ]; do sleep 30; echo "-- $(date +%T)"; tail -qn1 "$work"/a/*.out "$work"/b/*.out 2>/dev/null; done
wait
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null

echo "== diagnose"; date
for r in a b; do
  TINYSHAPES_RUNS="$work/$r" timeout 150 $py diagnose.py --device "$dev" --validation --steps 1,4 >"$work/$r/diagnose.out" 2>&1 &
done
wait
for r in a b; do echo "-- recipe $r"; cat "$work/$r/diagnose.out"; done

for r in a b; do
  $py - "$work/$r" "$out/$r" <<'PY'
import sys, torch
src, dst = sys.argv[1], sys.argv[2]
ck = torch.load(src + "/unet_ema.pt", map_location="cpu")
torch.save(ck.pop("unet"), dst + "_unet.pt")
torch.save(ck, dst + "_te.pt")  # text encoder, scaling factor, step, seconds
torch.save(torch.load(src + "/vae_final.pt", map_location="cpu"), dst + "_vae.pt")
PY
done
tar -czf "$out/logs.tar.gz" -C "$work" --exclude='*.pt' --exclude='*.npz' a b
ls -la "$out"; date
