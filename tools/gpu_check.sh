#!/usr/bin/env bash
# The GPU figures in one short run: training throughput on CUDA with AMP (pairs/s, data-wait share, the paper's
# 50 x 50,000-pair schedule in minutes) and tracker fps per backend beside the reference.
# Usage, from the repository root on a machine with a CUDA build of torch and the package's dependencies:
#   bash tools/gpu_check.sh [OUT_DIR]
# Goals: >= 2,800 pairs/s with data wait <= 5 % (the schedule in <= 15 min); tracker >= 300 fps.
set -euo pipefail
out=${1:-gpu-check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python -m pip install -q --no-deps --no-build-isolation -e .  # the dependencies must be there already
python - <<'PY' | tee "$out/device.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0))
PY
workers="4 8 12"
python -m siamfc.tools.cli bench train --device cuda --amp --batch-size 8 --steps 300 --workers $workers \
  2>&1 | tee "$out/train-batch8.txt"
python -m siamfc.tools.cli bench train --device cuda --amp --batch-size 64 --steps 100 --workers $workers \
  2>&1 | tee "$out/train-batch64.txt"
python -m siamfc.tools.cli bench track --frames 120 --rounds 3 2>&1 | tee "$out/track.txt"
python -m siamfc.tools.cli bench track --frames 120 --rounds 3 --scales 5 2>&1 | tee "$out/track-5-scales.txt"
