#!/usr/bin/env bash
# Produces the rows of docs/quality.md: compiles TinyShapes with each method/target through `mixdq compile` and scores
# each plan with `mixdq evaluate --plan PLAN --model DIR` on the held-out prompts and the held-out prompt forms, the
# plan's integer layers on the CPU backend's integer kernels (QUALITY_EXECUTION=--simulate replays them simulated, as the
# analysis measured them; QUALITY_PROMPTS overrides the prompt files). Runs niced, one process at a time.
# Usage: tools/quality/quality-table.sh OUT_DIR [MIXDQ_DLL]   (MIXDQ_DLL defaults to the Release build of src/MixDQ.Cli)
set -euo pipefail
out=${1:?usage: quality-table.sh OUT_DIR [MIXDQ_DLL]}
root=$(cd "$(dirname "$0")/../.." && pwd)
mixdq=${2:-$root/src/MixDQ.Cli/bin/Release/net10.0/mixdq.dll}
model=$root/samples/models/tiny-shapes
mkdir -p "$out"
log=$out/log.txt

prompt_files=${QUALITY_PROMPTS:-$model/heldout_prompts.txt $model/heldout_forms_prompts.txt}

run() { echo "+ $*" >>"$log"; /usr/bin/time -f "%e s wall" -a -o "$log" nice -n 10 dotnet "$mixdq" "$@" >>"$log" 2>&1 || echo "FAILED: $*" >>"$log"; }

evaluate() { # name steps [plan]; a row whose JSON exists is kept (rerun after a stop picks up where it was)
  local name=$1 steps=$2 plan=${3:-}
  [[ -s $out/$name.json ]] && return 0
  local prompts=(--prompts $prompt_files)
  if [[ -n $plan ]]; then run evaluate --model "$model" --steps "$steps" --plan "$plan" ${QUALITY_EXECUTION:-} --fp32-cache "$out/fp32-images" "${prompts[@]}" --json "$out/$name.json"
  else run evaluate --model "$model" --steps "$steps" "${prompts[@]}" --json "$out/$name.json"; fi
}

compile() { # name lock steps args...
  local name=$1 lock=$2 steps=$3; shift 3
  run compile --no-progress-bar --model "$model" --class "$name" --out "$out/plans" --steps "$steps" --lock "$out/$lock.lock.json" "$@"
}

mixdq() { # steps label weight-bits activation-bits
  local name=MixDQ${2//./_}S$1
  compile "$name" "mixdq_s$1" "$1" --weight-bits "$3" --activation-bits "$4" && evaluate "mixdq_${2}_s$1" "$1" "$out/plans/$name.mixdq.plan.json"
}

# Rows in order of importance (the machine is shared: later rows may not be reached).
evaluate fp32_s1 1
mixdq 1 W8A8 8 8
mixdq 1 W4A8 4 8
# A rebuild with a valid lock file: the compile step alone.
compile MixDQW4A8S1 mixdq_s1 1 --weight-bits 4 --activation-bits 8
compile NaiveW8A8 naive 1 --method naive --weight-bits 8 --activation-bits 8 && evaluate naive_w8a8_s1 1 "$out/plans/NaiveW8A8.mixdq.plan.json"
compile NaiveW4A8 naive 1 --method naive --weight-bits 4 --activation-bits 8 && evaluate naive_w4a8_s1 1 "$out/plans/NaiveW4A8.mixdq.plan.json"
compile SqnrOnlyW4A8 sqnr 1 --method sqnr-only --weight-bits 4 --activation-bits 8 && evaluate sqnronly_w4a8_s1 1 "$out/plans/SqnrOnlyW4A8.mixdq.plan.json"
compile NoBosW8A8 nobos 1 --method no-bos --weight-bits 8 --activation-bits 8 && evaluate nobos_w8a8_s1 1 "$out/plans/NoBosW8A8.mixdq.plan.json"
compile Fp16 fp16 1 && evaluate fp16_s1 1 "$out/plans/Fp16.mixdq.plan.json"
mixdq 1 W5A8 5 8
mixdq 1 W3.66A16 3.66 16
mixdq 1 W4A16 4 16
evaluate fp32_s2 2
for t in "W8A8 8 8" "W4A8 4 8" "W5A8 5 8" "W3.66A16 3.66 16" "W4A16 4 16"; do mixdq 2 $t; done
echo done >>"$log"
