#!/usr/bin/env bash
# Times the MixDQ analysis of TinyShapes as docs/quality.md and the SDK README quote it: a full analysis from scratch
# (W4A8), a rebuild with the lock file it wrote, and changes of target bits only, each from a copy of that lock.
# Prints one line per run: what, wall seconds of `mixdq compile`, and the 1-minute load average before it (the machine
# is shared: a number measured under load is not the machine's number).
# ANALYSIS_BASE_LOCK=FILE starts from a copy of that lock (calibration and sensitivities of the same settings) instead of
# the full analysis: the first run then allocates only.
# Usage: tools/quality/analysis-time.sh OUT_DIR [MIXDQ_DLL] [STEPS]
set -euo pipefail
out=${1:?usage: analysis-time.sh OUT_DIR [MIXDQ_DLL] [STEPS]}
root=$(cd "$(dirname "$0")/../.." && pwd)
mixdq=${2:-$root/src/MixDQ.Cli/bin/Release/net10.0/mixdq.dll}
steps=${3:-1}
model=$root/samples/models/tiny-shapes
mkdir -p "$out"

timed() { # label lock weight-bits activation-bits
  local label=$1 lock=$2 w=$3 a=$4 load start end
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date +%s.%N)
  dotnet "$mixdq" compile --no-progress-bar --model "$model" --class "T${w//./_}A$a" --out "$out/plans" --steps "$steps" \
    --weight-bits "$w" --activation-bits "$a" --lock "$lock" >"$out/$label.log" 2>&1
  end=$(date +%s.%N)
  printf '%-34s %7.1f s   load %s\n' "$label" "$(echo "$end - $start" | bc)" "$load"
}

base=$out/base.lock.json
if [[ -n ${ANALYSIS_BASE_LOCK:-} ]]; then
  cp "$ANALYSIS_BASE_LOCK" "$base"
  timed "allocation W4A8 (given lock)" "$base" 4 8
else
  rm -f "$base"
  timed "full analysis W4A8" "$base" 4 8
fi
timed "rebuild with the lock W4A8" "$base" 4 8
for t in "5 8" "8 8" "3.66 16"; do
  set -- $t
  cp "$base" "$out/change.lock.json"
  timed "target change W4A8 -> W$1A$2" "$out/change.lock.json" "$1" "$2"
done
