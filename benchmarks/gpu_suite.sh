#!/usr/bin/env bash
# The GPU suite: on one CUDA GPU, in about 8 minutes, ResNet-50 training throughput at 256x256
# (bare step against fit(), fp32, bf16 + channels_last, + torch.compile), the input pipeline
# (uint8 cache against a DataLoader), evaluation and CPDM at VeRi-776 scale (1,678 x 11,579),
# and notebook 01 at the standard preset (wall time, mAP). Each step's JSON goes to $OUT_DIR,
# all of them into $OUT_DIR/gpu_suite.json, and a table is printed.
#
#   make bench-gpu                         # after `make setup`, nothing else
#   NB01_EPOCHS=40 benchmarks/gpu_suite.sh # notebook 01 with the preset's own epochs (~ +10 min)
#
# Environment: VREID_PYTHON (default .venv/bin/python), OUT_DIR (default
# runs/gpu-suite-<time>), NB01_EPOCHS (default 4: the standard preset's 40 do not fit the
# budget), STEP_TIMEOUT (seconds per step, default 300).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${VREID_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_suite: no CUDA GPU visible to torch ($PY); this suite measures one GPU and does not run without it" >&2
    exit 3
fi

OUT_DIR=${OUT_DIR:-runs/gpu-suite-$(date +%Y%m%d-%H%M%S)}
NB01_EPOCHS=${NB01_EPOCHS:-4}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
mkdir -p "$OUT_DIR"
export VREID_RUNS_DIR="$OUT_DIR/runs" MPLBACKEND=Agg

step() {  # step NAME COMMAND…: stdout to NAME.json, stderr to NAME.log, wall seconds to NAME.status
    local name=$1; shift
    echo "== $name" >&2
    local start=$SECONDS
    timeout "$STEP_TIMEOUT" "$@" >"$OUT_DIR/$name.json" 2>"$OUT_DIR/$name.log"
    echo "$? $((SECONDS - start))" >"$OUT_DIR/$name.status"
}

THROUGHPUT=(benchmarks/train_throughput.py --preset quick --backbone resnet50 --image-size 256
            --pk 16x4 --epochs 6 --device cuda)
step train_fp32 "$PY" "${THROUGHPUT[@]}" --no-amp --no-channels-last --no-compile
step train_bf16_cl "$PY" "${THROUGHPUT[@]}" --amp --channels-last --no-compile
step train_bf16_cl_compile "$PY" "${THROUGHPUT[@]}" --amp --channels-last --compile
step input_pipeline "$PY" benchmarks/input_pipeline.py --n 4000 --size 256 --p 16 --k 4 \
    --epochs 2 --workers 8
step eval_speed "$PY" benchmarks/eval_speed.py --devices cuda,cpu --repeats 2
step notebook01 "$PY" benchmarks/report/notebook_run.py 01_baseline -p preset standard \
    -p epochs "$NB01_EPOCHS" -p compare_scratch false

exec "$PY" benchmarks/report/gpu_suite.py "$OUT_DIR"
