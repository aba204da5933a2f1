#!/usr/bin/env bash
# Produces the rows of docs/quality.md: compiles TinyShapes with each method/target through `mixdq compile` and scores
# each plan with `mixdq evaluate --plan` (integer layers simulated on the CPU backend) on every held-out prompt.
# Usage: tools/quality/quality-table.sh OUT_DIR [MIXDQ_DLL]   (MIXDQ_DLL defaults to the Release build of src/MixDQ.Cli)
set -euo pipefail
out=${1:?usage: quality-table.sh OUT_DIR [MIXDQ_DLL]}
root=$(cd "$(dirname "$0")/../.." && pwd)
mixdq=${2:-$root/src/MixDQ.Cli/bin/Release/net10.0/mixdq.dll}
model=$root/samples/models/tiny-shapes
mkdir -p "$out"
log=$out/log.txt

run() { echo "+ $*" >>"$log"; /usr/bin/time -f "%e s wall" -a -o "$log" dotnet "$mixdq" "$@" >>"$log" 2>&1; }

evaluate() { # name steps [plan]
  local name=$1 steps=$2 plan=${3:-}
  if [[ -n $plan ]]; then run evaluate --model "$model" --steps "$steps" --plan "$plan" --json "$out/$name.json"
  else run evaluate --model "$model" --steps "$steps" --json "$out/$name.json"; fi
}

compile() { # name lock steps args...
  local name=$1 lock=$2 steps=$3; shift 3
  run compile --no-progress-bar --model "$model" --class "$name" --out "$out/plans" --steps "$steps" --lock "$out/$lock.lock.json" "$@"
}

evaluate fp32_s1 1
evaluate fp32_s2 2
compile NaiveW8A8 naive 1 --method naive --weight-bits 8 --activation-bits 8 && evaluate naive_w8a8_s1 1 "$out/plans/NaiveW8A8.mixdq.plan.json"
compile NaiveW4A8 naive 1 --method naive --weight-bits 4 --activation-bits 8 && evaluate naive_w4a8_s1 1 "$out/plans/NaiveW4A8.mixdq.plan.json"
for steps in 1 2; do
  for t in "W8A8 8 8" "W5A8 5 8" "W4A8 4 8" "W3.66A16 3.66 16" "W4A16 4 16"; do
    set -- $t
    name=MixDQ${1//./_}S$steps
    compile "$name" "mixdq_s$steps" "$steps" --weight-bits "$2" --activation-bits "$3" && evaluate "mixdq_${1}_s$steps" "$steps" "$out/plans/$name.mixdq.plan.json"
  done
done
# A rebuild with a valid lock file: the compile step alone.
compile MixDQW4A8S1 mixdq_s1 1 --weight-bits 4 --activation-bits 8
compile SqnrOnlyW4A8 sqnr 1 --method sqnr-only --weight-bits 4 --activation-bits 8 && evaluate sqnronly_w4a8_s1 1 "$out/plans/SqnrOnlyW4A8.mixdq.plan.json"
compile NoBosW8A8 nobos 1 --method no-bos --weight-bits 8 --activation-bits 8 && evaluate nobos_w8a8_s1 1 "$out/plans/NoBosW8A8.mixdq.plan.json"
echo done >>"$log"
