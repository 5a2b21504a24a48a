#!/usr/bin/env bash
# One call of a training run on a lent GPU machine (docs/TRAINING.md, "On a lent GPU").
#
#   bash scripts/device_train.sh CONFIG MINUTES
#
# Trains CONFIG for MINUTES of steps, going on from the run's last.pt when an earlier call on
# the same (still warm) machine left one, then exports the run's EMA weights and copies its log
# into $OUT, which the device tool brings back. The machine runs the project from source
# (PYTHONPATH=src): it has PyTorch, numpy, Pillow, PyYAML, safetensors, tqdm and onnx, but not
# rapidfuzz, which travels as a wheel in .whl/ (see the docs for the download command).
# PYTHON names the interpreter (default python3, the one that holds PyTorch there).
set -euo pipefail
config=$1 minutes=$2
python=${PYTHON:-python3}
if ! "$python" -c "import rapidfuzz" 2>/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}:/tmp/site" PYTHONUNBUFFERED=1
run=$("$python" -c "import sys; from img2latex.config import load_config; print(load_config(sys.argv[1]).train.out_dir)" "$config")
resume=()
[ -f "$run/last.pt" ] && resume=(--resume)
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
status=0
"$python" -m img2latex train --config "$config" --max-minutes "$minutes" "${resume[@]}" >"$OUT/train.log" 2>&1 || status=$?
tr '\r' '\n' <"$OUT/train.log" | grep -v '%|' | tail -n 40
[ "$status" = 0 ] || exit "$status"
cp "$run/metrics.jsonl" "$OUT/"
"$python" -m img2latex export --checkpoint "$run/last.pt" --onnx "$OUT/weights"
