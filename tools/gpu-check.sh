#!/usr/bin/env bash
# gpu-check: the ILGPU backend on a GPU against the CPU backend, one table (tools/gpu-check/README.md).
#
#   tools/gpu-check.sh prepare            # here (needs the .NET SDK): publish the runner, pack the .NET runtime
#   tools/gpu-check.sh run [-- ARGS]      # on the GPU machine (no .NET there): uses only what `prepare` wrote
#
# `prepare` writes artifacts/gpu-check/{app/, dotnet-runtime.tar.xz}; carry that folder to the GPU machine with the
# working tree. `run` passes ARGS to the runner (default: --accelerator cuda --unet sd-turbo --iterations 20); the
# CPU rehearsal is `tools/gpu-check.sh run -- --accelerator cpu --unet tiny --iterations 2`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$ROOT/artifacts/gpu-check"
BUDGET_S="${GPU_CHECK_BUDGET_S:-450}"   # the whole run stays under 8 minutes
PEER_BUDGET_S="${GPU_CHECK_PEER_BUDGET_S:-150}"

prepare() {
  rm -rf "$OUT_DIR/app"
  mkdir -p "$OUT_DIR"
  dotnet publish "$ROOT/tools/gpu-check/MixDQ.GpuCheck.csproj" -c Release -o "$OUT_DIR/app" -p:DebugType=none -p:GenerateDocumentationFile=false >/dev/null
  # The runner never draws: SkiaSharp's native library (PNG output only) is not needed on the GPU machine.
  rm -f "$OUT_DIR/app/libSkiaSharp.so"
  local dotnet_root version
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  version="$(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App /{v=$2} END{print v}')"
  tar -C "$dotnet_root" -cJf "$OUT_DIR/dotnet-runtime.tar.xz" dotnet host "shared/Microsoft.NETCore.App/$version"
  du -sh "$OUT_DIR/app" "$OUT_DIR/dotnet-runtime.tar.xz"
}

# .NET probes libcuda.so (unversioned); driver folders often hold only libcuda.so.1 and may be read-only.
link_libcuda() {
  if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so '; then return; fi
  local lib
  lib="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')"
  for candidate in "$lib" /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/wsl/lib/libcuda.so.1; do
    if [[ -n "$candidate" && -e "$candidate" ]]; then
      mkdir -p "$WORK/cudalink"
      ln -sf "$candidate" "$WORK/cudalink/libcuda.so"
      export LD_LIBRARY_PATH="$WORK/cudalink${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      return
    fi
  done
  echo "gpu-check: no libcuda.so.1 found; the CUDA accelerator will be unavailable" >&2
}

run() {
  [[ -f "$OUT_DIR/dotnet-runtime.tar.xz" && -f "$OUT_DIR/app/MixDQ.GpuCheck.dll" ]] || { echo "gpu-check: run 'tools/gpu-check.sh prepare' first" >&2; exit 2; }
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  tar -C "$WORK" -xJf "$OUT_DIR/dotnet-runtime.tar.xz"
  export DOTNET_ROOT="$WORK" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  link_libcuda
  local args=("$@")
  [[ ${#args[@]} -gt 0 ]] || args=(--accelerator cuda --unet sd-turbo --iterations 20)
  local results="$WORK/results"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  local start=$SECONDS status=0
  mkdir -p "$results"
  (cd "$ROOT" && timeout "$BUDGET_S" "$WORK/dotnet" "$OUT_DIR/app/MixDQ.GpuCheck.dll" "${args[@]}" --out "$results") || status=$?
  [[ $status -eq 124 ]] && echo "| gpu-check | FAIL | runner killed after ${BUDGET_S} s |" >>"$results/table.md"

  # The PyTorch FP16 peer on the same UNet config, when torch and a GPU are there.
  local config unet=sd-turbo iterations=20 latent=64 context=77 device=cuda
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --unet) unet="${args[i+1]}" ;;
      --iterations) iterations="${args[i+1]}" ;;
      --accelerator) [[ "${args[i+1]}" == cpu ]] && device=cpu ;;
    esac
  done
  [[ "$unet" == tiny ]] && latent=8 context=7
  config="$results/unet-$unet.json"
  local python="${GPU_CHECK_PYTHON:-python3}"
  if [[ -f "$config" ]] && "$python" -c "import torch; assert '$device' == 'cpu' or torch.cuda.is_available()" 2>/dev/null; then
    timeout "$PEER_BUDGET_S" "$python" "$ROOT/tools/gpu-check/torch_peer.py" "$config" "$latent" "$context" "$iterations" --device "$device" \
      $([[ "$device" == cpu ]] && echo --no-compile) >>"$results/table.md" \
      || echo "| torch peer | n/a | did not finish within ${PEER_BUDGET_S} s |" >>"$results/table.md"
  else
    echo "| torch peer | n/a | no PyTorch with $device here |" >>"$results/table.md"
  fi
  echo
  echo "gpu-check table ($(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - start)) s):"
  cat "$results/table.md"
  mkdir -p "$ROOT/artifacts/gpu-check-results" && cp "$results/table.md" "$ROOT/artifacts/gpu-check-results/table.md"
  if [[ -n "${OUT:-}" ]]; then cp "$results/table.md" "$OUT/gpu-check-table.md"; fi
  return $status
}

case "${1:-run}" in
  prepare) prepare ;;
  run) shift || true; [[ "${1:-}" == "--" ]] && shift; run "$@" ;;
  *) echo "usage: $0 prepare | run [-- runner args]" >&2; exit 2 ;;
esac
