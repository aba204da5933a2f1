#!/usr/bin/env bash
# Two Tiny Shapes training recipes side by side on one CUDA GPU, about 8 minutes in all, then diagnose.py
# on both (the committed model is recipe b, continued: samples/models/tiny-shapes/README.md, Training § 5):
#   a: the CPU sessions' recipe continued: UNet + text encoder on the frozen encoder's latents of
#      160k scenes, decoder on encoder latents and on the UNet's own predictions;
#   b: a colour-agnostic codec first (the VAE warm-started from INIT_DIR's, half of its images recoloured
#      at random, see imaging.py), then UNet + text encoder warm-started on its new latents, decoder likewise.
# Usage: train_gpu.sh INIT_DIR WORK_DIR OUT_DIR
#   INIT_DIR holds unet_ema.pt and vae_final.pt (a runs/ folder); WORK_DIR must be new or empty (cached latents
#   of another encoder would be reused); OUT_DIR receives each recipe's checkpoints in pieces < 16 MiB
#   (checkpoint_parts.py join OUT_DIR/b runs/ puts one back together) and logs.tar.gz.
# Environment: PYTHON (default python3: a CUDA build of torch), TINYSHAPES_BPE (the CLIP merges file; default
#   tests/data/clip of this repository), TINYSHAPES_GPU_SCALE (default 1) scales every time budget, TINYSHAPES_GPU_COUNT
#   the scenes (default 160000), TINYSHAPES_DEVICE the device (default cuda). A smoke test on a CPU:
#   PYTHON=/usr/bin/python3 TINYSHAPES_DEVICE=cpu TINYSHAPES_GPU_SCALE=0.03 TINYSHAPES_GPU_COUNT=3000 ./train_gpu.sh ...
set -u
usage() { echo "usage: train_gpu.sh INIT_DIR WORK_DIR OUT_DIR ($1)" >&2; exit 2; }
[ $# -eq 3 ] || usage "three arguments"
for f in unet_ema.pt vae_final.pt; do [ -f "$1/$f" ] || usage "$1/$f is missing"; done
[ ! -e "$2" ] || [ -z "$(ls -A "$2")" ] || usage "WORK_DIR $2 is not empty"
here=$(cd "$(dirname "$0")" && pwd)
init=$(realpath "$1"); work=$(realpath -m "$2"); out=$(realpath -m "$3")
scale=${TINYSHAPES_GPU_SCALE:-1}; count=${TINYSHAPES_GPU_COUNT:-160000}; dev=${TINYSHAPES_DEVICE:-cuda}
py=${PYTHON:-python3}
min() { awk -v m="$1" -v s="$scale" 'BEGIN { printf "%.3f", m * s }'; }
lim() { awk -v m="$1" -v s="$scale" 'BEGIN { printf "%d", m * s * 60 + 120 }'; }   # hard stop per process
export PYTHONUNBUFFERED=1
cd "$here" || exit 1
mkdir -p "$work/a" "$work/b" "$out" || exit 1
cp "$init/unet_ema.pt" "$work/a/unet_init.pt" && cp "$init/unet_ema.pt" "$work/a/unet_ema.pt" &&
  cp "$init/vae_final.pt" "$work/a/vae.pt" && cp "$init/vae_final.pt" "$work/a/vae_final.pt" &&
  cp "$init/unet_ema.pt" "$work/b/unet_init.pt" && cp "$init/vae_final.pt" "$work/b/vae_init.pt" || exit 1
offset=$($py -c "import torch; print(torch.load('$init/unet_ema.pt', map_location='cpu')['step'])") || exit 1

echo "== data: $count scenes"; date
TINYSHAPES_RUNS="$work/a" $py -c "import data; data.training_set(count=$count)" || exit 1
ln -sf "$work/a/data_1234_$count.npz" "$work/b/"
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null

common="--device $dev --count $count"
A() { TINYSHAPES_RUNS="$work/a" timeout "$1" $py "${@:2}"; }
B() { TINYSHAPES_RUNS="$work/b" timeout "$1" $py "${@:2}"; }
recipe_b() {
  B "$(lim 2)" train_vae.py $common --init "$work/b/vae_init.pt" --minutes "$(min 2)" --batch 64 --lr 5e-4 \
    --recolour 0.5 --edge-weight 4 >"$work/b/vae.out" 2>&1 || { echo "recipe b: train_vae.py failed" >&2; return 1; }
  cp "$work/b/vae.pt" "$work/b/vae_final.pt" || return 1
  B "$(lim 4.25)" train_unet.py $common --init "$work/b/unet_init.pt" --new-latents --minutes "$(min 4.25)" \
    --batch 256 --lr 5e-4 --shape-weight 4 --ema 0.999 >"$work/b/unet.out" 2>&1 &
  local unet=$!
  B "$(lim 4.25)" train_decoder.py $common --init vae_final.pt --unet unet_ema.pt --pred-fraction 0.5 --edge-weight 4 \
    --recolour 0.5 --batch 64 --lr 1e-4 --minutes "$(min 4.25)" >"$work/b/decoder.out" 2>&1 &
  local decoder=$! ok=0
  wait $unet || { echo "recipe b: train_unet.py failed" >&2; ok=1; }
  wait $decoder || { echo "recipe b: train_decoder.py failed" >&2; ok=1; }
  return $ok
}
A "$(lim 6.5)" train_unet.py $common --init "$work/a/unet_init.pt" --step-offset "$offset" --minutes "$(min 6.5)" \
  --batch 256 --lr 3e-4 --shape-weight 4 --ema 0.999 >"$work/a/unet.out" 2>&1 &
a_unet=$!
A "$(lim 6.5)" train_decoder.py $common --init vae_final.pt --unet unet_ema.pt --pred-fraction 0.5 --edge-weight 4 \
  --batch 64 --lr 1e-4 --minutes "$(min 6.5)" >"$work/a/decoder.out" 2>&1 &
a_decoder=$!
recipe_b & b=$!
while [ "$(jobs -r | wc -l)" -gt 0 ]; do sleep 30; echo "-- $(date +%T)"; tail -qn1 "$work"/a/*.out "$work"/b/*.out 2>/dev/null; done
status=0
wait $a_unet || { echo "recipe a: train_unet.py failed" >&2; status=1; }
wait $a_decoder || { echo "recipe a: train_decoder.py failed" >&2; status=1; }
wait $b || status=1
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null

echo "== diagnose"; date
for r in a b; do
  TINYSHAPES_RUNS="$work/$r" timeout 150 $py diagnose.py --device "$dev" --validation --steps 1,4 >"$work/$r/diagnose.out" 2>&1 &
done
wait
for r in a b; do
  echo "-- recipe $r"; cat "$work/$r/diagnose.out"
  $py checkpoint_parts.py split "$work/$r" "$out/$r" || status=1
done
tar -czf "$out/logs.tar.gz" -C "$work" --exclude='*.pt' --exclude='*.npz' a b
ls -la "$out"; date
exit $status
