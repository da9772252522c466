#!/usr/bin/env bash
# The GPU figures in one short slot, on a GPU machine that cannot fetch anything:
#   training throughput on CUDA with AMP at batch 8 and 64 (pairs/s, data-wait share, loader workers, the minutes
#   the paper's 50 x 50,000-pair schedule would take), a short real `siamfc train` on CUDA (2 epochs: one, a
#   checkpoint, then --resume), tracker fps per backend at 3 and 5 scales, and curation frames/s with 1, 4, 8 and
#   16 workers on a curation it makes itself. Every table goes to OUT; a one-screen summary ends the run
#   (OUT/summary.txt). Goals: >= 2,800 pairs/s with data wait <= 5 %, a tracker at >= 300 fps.
#
# Usage, from the repository root (README, "Measuring on a GPU"):
#   bash tools/gpu_wheels.sh                 # here, once (PyPI): the wheels the GPU image lacks, into .whl/
#   bash tools/gpu_check.sh OUT              # on the GPU machine, the working tree and .whl/ copied: <= 8 min
#   bash tools/gpu_check.sh --quick OUT      # training throughput and the tracker alone: <= 3 min
#   bash tools/gpu_check.sh --dry-run OUT    # here, on the CPU: every line of the real run with tiny counts
#   bash tools/gpu_check.sh --dry-run --quick OUT   # here: the quick run's selection of steps, tiny counts
# PYTHON=... picks the interpreter (default: the first of python3, python that imports torch; in a dry run a venv
# of the image's packages made once, GPU_CHECK_IMAGE_VENV); GPU_CHECK_DEADLINE=SECONDS overrides the deadline.
#
# Nothing is installed into the interpreter: the wheels go into a scratch target put on PYTHONPATH (the image's
# site-packages may be read-only) with `pip install --no-index --no-deps --target` (or, without pip, unpacked
# from the wheel zips), and the package runs from the working tree: the target gets a `siamfc/` folder of links
# to the folders pyproject's package-dir maps (siamfc.curate -> curate, ...), so `python -m siamfc.tools.cli`
# works with no editable install and no build backend.
#
# Sizing (the full run <= 8 min of wall time on an H100 machine with 16 cores, the quick one <= 3 min). Measured
# here, in the CPU dry run (2 shared cores, tiny counts; 4.6 min from a clean state, 1.7 of them making the venv):
# install + the 3.12 wheel proof 25 s, synth 80 frames 1.3 s, curate 2 workers 2.5 s (~50 frames/s with the pool
# start; bench curate: ~140 frames/s for 1 worker on small frames), bench train 15-27 s for 1-2 worker counts
# (a CPU training step is ~1 s per 2 pairs, process start ~8 s), bench track 29 s / 37 s for 5 frames (3 / 5
# scales: ONNX export + int8 calibration ~15 s of it), siamfc train 2 x 4 pairs 28 s (two process starts).
# Expected on the GPU machine (to be replaced by the first run's OUT/steps.tsv):
#   install + environment                         ~10 s (four small wheels, one python start)
#   synth 48+4 snippets x 40 frames (~2,000)      ~12 s (one process, ~180 frames/s on a server core)
#   curate it, 16 workers                         ~10 s (~2,000 frames at >= 400 frames/s, pool start ~3 s)
#   bench train b8: workers 2 4 8 12, 25 warm-up + 300 timed steps each (a floor step and a training step
#     alternate: 600 steps of ~3-4 ms, then 300 batches drained alone) + spawning the workers ~3 s: ~8 s per
#     count, with the python start and CUDA init/cuDNN autotune (~15 s)                   ~50 s
#   bench train b64: workers 8 12 16, 10 + 100 steps (~10-15 ms each, 200 of them)        ~40 s
#   siamfc train, 2 x 8,000 pairs (1,000 steps of b8 ~ 5 s) + 400 validation pairs, in two processes (the
#     second resumes from the checkpoint), ~15 s start each                                ~50 s
#   bench track, 120 frames x 3 rounds, six trackers (reference ~30 ms, torch cpu ~25 ms, onnxruntime fp32 and
#     int8 ~10-20 ms a frame on 16 cores, i.e. the 131 ms network of 2 cores over ~6; CUDA ~3 ms), the ONNX
#     export and int8 calibration ~10 s: 3 scales ~45 s, 5 scales ~65 s                   ~110 s
#   bench curate 1 4 8 16 workers over the first ~1,600 frames, each beside its cv2.imread floor
#     (1 worker: ~1,600 / 80 frames/s = 20 s + 6 s floor; 4, 8, 16: ~15 s together; pool starts ~8 s)  ~50 s
#   summary                                                                                 ~2 s
#   total ~335 s, i.e. ~2 min of margin under 8 min. A deadline guards the slot all the same: no step starts
#   with under 15 s left, each step's timeout is cut to what is left (DEADLINE: 450 s full, 160 s quick; a step
#   killed at the deadline gets 10 s more to die, the summary ~3 s: <= 463 s and <= 173 s), and a step that fails
#   or times out is named in the summary while the others still run. The steps run in order of importance
#   (training throughput, tracker, training run, curation scaling), so a slow machine loses the least important
#   figures first. Quick: 16+2 snippets (~700 frames, ~10 s with curation), b8 workers 4 8 12 x 200 steps
#   (~35 s), b64 workers 8 12 x 60 steps (~30 s), track 3 and 5 scales at 60 frames x 2 rounds (~25 s + ~35 s):
#   ~145 s.
set -uo pipefail

# >>> packages: written once; tools/gpu_wheels.sh and tests/test_gpu_check.py read this block.
IMAGE_PYTHON=3.12  # the GPU image's Python; its wheels are the ones gpu_wheels.sh fetches by default
# what the GPU image has (torch 2.11 built for CUDA 13); distribution names as pyproject writes them
IMAGE_PACKAGES=(torch numpy opencv-python-headless joblib matplotlib tqdm pillow onnx onnxruntime)
# every runtime dependency of pyproject.toml the image lacks: a wheel each in .whl/ (pinned: what the dry run ran)
WHEELS=(lmdb==3.0.0 xmltodict==1.0.4 simplejpeg==1.9.0 crc32c==2.9.post0)
# <<< packages
DRY_TORCH=torch==2.13.0  # the dry run's stand-in for the image's torch (the CPU wheel on local disk here)

usage() { sed -n '9,16p' "$0" | sed 's/^# \{0,1\}//'; }
dry=0 quick=0 out=
while (($#)); do
  case $1 in
    --dry-run) dry=1 ;;
    --quick) quick=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [[ -z $out ]] || { echo "gpu_check.sh: one OUT folder, got $out and $1" >&2; exit 2; }; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || { echo "gpu_check.sh: OUT folder missing" >&2; usage >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/siamfc-gpu-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg
cores=$(nproc 2>/dev/null || echo 1)
start=$SECONDS
printf 'step\tseconds\tstatus\n' > "$out/steps.tsv"
say() { echo "[gpu_check $((SECONDS - start))s] $*" | tee -a "$out/log.txt" >&2; }

# ---- step counts per mode (the arithmetic is in the header) -------------------------------------------------
mode=full
((quick)) && mode=quick
((dry)) && mode=dry
case $mode in
  full)
    DEADLINE=450 DEVICE=cuda SYNTH=(--train-snippets 48 --val-snippets 4 --frames 40) CURATE_WORKERS=$cores
    B8=(--batch-size 8 --steps 300 --warmup 25 --workers 2 4 8 12)
    B64=(--batch-size 64 --steps 100 --warmup 10 --workers 8 12 16)
    RUN=(--batch-size 8 --pairs-per-epoch 8000 --val-pairs 400)
    TRACK=(--frames 120 --rounds 3) SCALES=(3 5)
    SCALING=(--workers 1 4 8 16 --max-frames 1600 --repeat 1) ;;
  quick)
    DEADLINE=160 DEVICE=cuda SYNTH=(--train-snippets 16 --val-snippets 2 --frames 40) CURATE_WORKERS=$cores
    B8=(--batch-size 8 --steps 200 --warmup 20 --workers 4 8 12)
    B64=(--batch-size 64 --steps 60 --warmup 10 --workers 8 12)
    RUN=() TRACK=(--frames 60 --rounds 2) SCALES=(3 5) SCALING=() ;;
  dry)  # the same lines on the CPU, counts cut to what 2 cores do in a few minutes (a CPU step is ~3 s at batch 8)
    DEADLINE=1500 DEVICE=cpu SYNTH=(--train-snippets 6 --val-snippets 2 --frames 12) CURATE_WORKERS=2
    B8=(--batch-size 2 --steps 1 --warmup 1 --workers 0 1)
    B64=(--batch-size 4 --steps 1 --warmup 1 --workers 1)
    RUN=(--batch-size 2 --pairs-per-epoch 4 --val-pairs 2)
    TRACK=(--frames 5 --rounds 1) SCALES=(3 5)
    SCALING=(--workers 1 2 --max-frames 40 --repeat 1)
    ((quick)) && RUN=() SCALING=() mode=dry-quick ;;
esac
DEADLINE=${GPU_CHECK_DEADLINE:-$DEADLINE}

# ---- the interpreter -----------------------------------------------------------------------------------------
image_venv() {  # dry run: a venv holding exactly the image's packages (torch: the local CPU wheel), made once
  local venv=${GPU_CHECK_IMAGE_VENV:-${TMPDIR:-/tmp}/siamfc-gpu-image-venv} pkgs=() p
  for p in "${IMAGE_PACKAGES[@]}"; do [[ $p == torch ]] && pkgs+=("$DRY_TORCH") || pkgs+=("$p"); done
  if [[ ! -f $venv/.image-packages ]] || [[ $(cat "$venv/.image-packages") != "${pkgs[*]}" ]]; then
    say "dry run: making $venv with the image's packages only: ${pkgs[*]}"
    python3 -m venv --clear "$venv" >&2 && "$venv/bin/python" -m pip install -q "${pkgs[@]}" 2>&1 \
      | grep -v 'is ignored: it is neither' >&2
    "$venv/bin/python" -c "import torch" || { echo "dry run: $venv has no working torch" >&2; return 1; }
    echo "${pkgs[*]}" > "$venv/.image-packages"
  fi
  echo "$venv/bin/python"
}
if ((dry)); then
  py=${PYTHON:-$(image_venv)} || exit 1
else
  py=${PYTHON:-}
  for c in python3 python; do
    [[ -z $py ]] && command -v $c >/dev/null && $c -c "import torch" 2>/dev/null && py=$(command -v $c)
  done
  [[ -n $py ]] || { echo "gpu_check.sh: no python with torch found (set PYTHON=...)" >&2; exit 1; }
fi
pyver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
say "mode $mode, out $out, python $py ($pyver), $cores cores, scratch $work"

# ---- the wheels the image lacks, into a scratch target -------------------------------------------------------
names=("${WHEELS[@]%%==*}")
install_wheels() {  # PYTHON WHEEL_DIR TARGET [pip|unzip]: the wheels of WHEELS for PYTHON into TARGET
  local python=$1 wheels=$2 target=$3 how=${4:-}
  mkdir -p "$target"
  if [[ -z $how ]]; then "$python" -m pip --version >/dev/null 2>&1 && how=pip || how=unzip; fi
  if [[ $how == pip ]]; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
      --find-links "$wheels" --target "$target" "${WHEELS[@]}" && return
    echo "pip install --target failed: unpacking the wheels instead" >&2
  fi
  # no (working) pip: a wheel is a zip to unpack into the target (none of these has a .data folder)
  "$python" - "$wheels" "$target" "${WHEELS[@]}" <<'PY'
import re, sys, zipfile
from pathlib import Path
folder, target, wanted = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
for spec in wanted:
    name, version = spec.split("==")
    stem = re.sub(r"[-_.]+", "_", name).lower() + "-" + version + "-"
    ok = [w for w in folder.glob("*.whl") if w.name.lower().startswith(stem)
          and (f"-{py}-{py}-" in w.name or "-none-any" in w.name or f"-{py}-abi3-" in w.name)]
    if not ok:
        sys.exit(f"no wheel of {spec} for {py} in {folder}: run tools/gpu_wheels.sh {sys.version_info[0]}."
                 f"{sys.version_info[1]} where PyPI is reachable")
    zipfile.ZipFile(ok[0]).extractall(target)
    print(f"unpacked {ok[0].name}")
PY
}
check_imports() {  # PYTHON TARGET: each wheel's module imports from TARGET and does its job
  PYTHONPATH=$2 "$1" - "$2" "${names[@]}" <<'PY'
import importlib, sys, tempfile
target, names = sys.argv[1], sys.argv[2:]
modules = {n: importlib.import_module(n) for n in names}
wrong = [f"{n} from {m.__file__}" for n, m in modules.items() if not m.__file__.startswith(target)]
assert not wrong, f"not from the target: {wrong}"
import lmdb, numpy as np, simplejpeg, xmltodict  # noqa: E401 -- exercised once each
from crc32c import crc32c
with tempfile.TemporaryDirectory() as d:
    env = lmdb.open(d, map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    with env.begin() as txn:
        assert txn.get(b"k") == b"v"
    env.close()
assert crc32c(b"123456789") == 0xE3069283
image = np.full((16, 16, 3), 128, np.uint8)
assert simplejpeg.decode_jpeg(simplejpeg.encode_jpeg(image), strict=True).shape == (16, 16, 3)
assert xmltodict.parse("<a><b>1</b></a>")["a"]["b"] == "1"
print("python", sys.version.split()[0], "imports", ", ".join(f"{n} {getattr(m, '__version__', '')}".strip()
                                                           for n, m in modules.items()), "from", target)
PY
}
wheels=$root/.whl  # what travels to the GPU machine: the image's Python's wheels only
if ((dry)); then  # PyPI is reachable here: the image's wheels into .whl/, this Python's (if another) into scratch
  say "dry run: fetching the wheels for Python $IMAGE_PYTHON into .whl/ (tools/gpu_wheels.sh)"
  bash "$root/tools/gpu_wheels.sh" "$IMAGE_PYTHON" 2>&1 | tail -n 5 | tee -a "$out/log.txt"
  if [[ $pyver != "$IMAGE_PYTHON" ]]; then
    say "dry run: and for this Python, $pyver, the same versions into the scratch folder"
    wheels=$work/wheels-$pyver
    bash "$root/tools/gpu_wheels.sh" --dest "$wheels" "$pyver" 2>&1 | tail -n 1 | tee -a "$out/log.txt"
  fi
fi
[[ -d $wheels ]] || { echo "gpu_check.sh: no $wheels folder: run tools/gpu_wheels.sh where PyPI is reachable and \
copy .whl/ along with the working tree" >&2; exit 1; }
site=$work/site
if ((dry)); then
  for n in "${names[@]}"; do  # the image lacks them: so should the stand-in
    "$py" -c "import $n" 2>/dev/null && say "note: $n is already in $py; the target's copy comes first on PYTHONPATH"
  done
fi
install_wheels "$py" "$wheels" "$site" || { echo "gpu_check.sh: installing the wheels failed" >&2; exit 1; }
check_imports "$py" "$site" 2>&1 | tee -a "$out/log.txt"
((PIPESTATUS[0] == 0)) || { echo "gpu_check.sh: the installed wheels do not import" >&2; exit 1; }
if ((dry)); then  # the image's own Python: the cp312 wheels install (pip and unzip) and work there
  py312=
  for c in "python$IMAGE_PYTHON" "$(pyenv root 2>/dev/null)"/versions/"$IMAGE_PYTHON".*/bin/python"$IMAGE_PYTHON"; do
    [[ -z $py312 ]] && "$c" -c "import sys; assert sys.version.startswith('$IMAGE_PYTHON.')" 2>/dev/null && py312=$c
  done
  if [[ -n $py312 ]]; then
    "$py312" -m venv "$work/py312" && "$work/py312/bin/python" -m pip install -q numpy 2>&1 \
      | grep -v 'is ignored: it is neither'  # numpy is on the image; simplejpeg needs it
    for how in pip unzip; do
      install_wheels "$work/py312/bin/python" "$root/.whl" "$work/site312-$how" $how >/dev/null \
        && check_imports "$work/py312/bin/python" "$work/site312-$how" 2>&1 | sed "s/^/[$how] /" \
        | tee -a "$out/log.txt"
      ((PIPESTATUS[0] == 0)) || { echo "gpu_check.sh: the Python $IMAGE_PYTHON wheels failed ($how)" >&2; exit 1; }
    done
  else
    say "dry run: no python$IMAGE_PYTHON here: the Python $IMAGE_PYTHON wheels were not tried"
  fi
fi
"$py" - "$root" "$site" <<'PY' || { echo "gpu_check.sh: cannot link the package into $site" >&2; exit 1; }
import os, sys, tomllib  # siamfc/<stage> -> the stage's folder in the working tree, as pyproject maps them
from pathlib import Path
root, site = Path(sys.argv[1]), Path(sys.argv[2])
mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
for package, folder in mapping.items():
    link = site.joinpath(*package.split("."))
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(root / folder, link)
PY
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
cli=("$py" -m siamfc.tools.cli)  # `siamfc` without its console script

# ---- the environment -----------------------------------------------------------------------------------------
{
  "$py" - "$mode" "${IMAGE_PACKAGES[@]}" <<'PY'
import importlib.metadata as md, inspect, os, platform, sys
import torch
mode, image = sys.argv[1], sys.argv[2:]
print("python", sys.version.split()[0], platform.platform())
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none", "cores", os.cpu_count())
versions = []
for name in image:
    try:
        versions.append(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        versions.append(f"{name} MISSING")
print("image packages:", ", ".join(versions))
# the torch APIs the package calls that an older torch may lack (each probe raises when absent)
probes = {
    "torch.amp.GradScaler(device)": lambda: torch.amp.GradScaler("cpu", enabled=False),
    "torch.autocast": lambda: torch.autocast("cpu", enabled=False),
    "torch.inference_mode": lambda: torch.inference_mode,
    "torch.export.Dim": lambda: torch.export.Dim("n", min=1, max=8),
    "torch.UntypedStorage._new_shared": lambda: torch.UntypedStorage._new_shared,
    "torch.onnx.export(dynamo=)": lambda: inspect.signature(torch.onnx.export).parameters["dynamo"],
    "torch.load(weights_only=)": lambda: inspect.signature(torch.load).parameters["weights_only"],
}
missing = []
for name, probe in probes.items():
    try:
        probe()
    except Exception as err:  # noqa: BLE001 -- any failure means the API is not usable as called
        missing.append(f"{name} ({type(err).__name__})")
print(f"torch {torch.__version__}: " + ("every torch API the package uses is present" if not missing else
      "LACKS " + "; ".join(missing) + " (the package falls back only for the ONNX exporter)"))
try:
    import onnxscript  # noqa: F401
    print("onnxscript present: the ONNX export may fall back to the torch.export-based exporter")
except ImportError:
    print("onnxscript absent (not on the image): the ONNX backends use the TorchScript exporter (dynamo=False) only")
import shutil
shm = shutil.disk_usage("/dev/shm").total if os.path.isdir("/dev/shm") else 0
if shm < 2 << 30:  # the loader's workers hand batches over in shared memory
    print(f"WARNING: /dev/shm holds {shm >> 20} MiB: loader workers at batch 64 may fail for want of it")
if not mode.startswith("dry") and not torch.cuda.is_available():
    sys.exit("no CUDA device: this is not the GPU machine (use --dry-run on the CPU)")
PY
  echo "pyproject package-dir linked into the scratch target; siamfc from $root"
  if grep -rqE 'torch\.compile|CUDAGraph|torch\.cuda\.graph' "$root/model" "$root/pipeline"; then
    echo "the training code mentions torch.compile or CUDA graphs, but bench train has no option for them: plain step only"
  else
    echo "the training step has no torch.compile or CUDA-graph option: the plain step only is timed"
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
    --format=csv,noheader
  df -h /dev/shm "$work" 2>/dev/null | sed 's/^/disk: /'
} 2>&1 | tee "$out/env.txt"
((PIPESTATUS[0] == 0)) || { say "the environment check failed: stopping"; exit 1; }

# ---- the steps -----------------------------------------------------------------------------------------------
failed=()
step() {  # NAME LIMIT_S COMMAND...: run it into OUT/NAME.txt within its limit and the deadline; never stops the run
  local name=$1 limit=$2 left t0 rc
  shift 2
  left=$((DEADLINE - (SECONDS - start)))
  if ((left < 15)); then
    say "$name: skipped, $left s left of the ${DEADLINE} s deadline"
    printf '%s\t-\tskipped\n' "$name" >> "$out/steps.tsv"; failed+=("$name (skipped: out of time)"); return 1
  fi
  ((limit > left)) && limit=$left
  if [[ $1 == bash && $2 == -c ]]; then say "$name (limit ${limit} s): ${*:4}"; else say "$name (limit ${limit} s): $*"; fi
  t0=$(date +%s.%N)
  timeout -k 10 "$limit" "$@" > "$out/$name.txt" 2>&1
  rc=$?
  local seconds
  seconds=$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $t0}")
  tr '\r' '\n' < "$out/$name.txt" | grep -v '^[[:space:]]*$' | tail -n 4 | cut -c1-200 | sed 's/^/    /'
  if ((rc == 0)); then
    printf '%s\t%s\tok\n' "$name" "$seconds" >> "$out/steps.tsv"
  else
    local why="exit $rc"; ((rc == 124 || rc == 137)) && why="timed out after $limit s"
    printf '%s\t%s\t%s\n' "$name" "$seconds" "$why" >> "$out/steps.tsv"; failed+=("$name ($why)")
    say "$name FAILED: $why (see $name.txt)"
  fi
  return $rc
}
# 2 epochs in two processes: the first stops after epoch 1 (a checkpoint), the second resumes from it. A script of
# its own (timeout runs programs, not shell functions): PYTHON WORK OUT DEVICE TRAIN-OPTIONS...
# shellcheck disable=SC2016
train_run='py=$1 work=$2 out=$3 device=$4; shift 4; run=$work/run
"$py" -m siamfc.tools.cli train --data "$work/cur" --out "$run" --device "$device" --amp --epochs 2 --stop-after 1 \
  --no-progress "$@" || exit
ls -l "$run"
[[ -f $run/checkpoint.pt ]] || { echo "no checkpoint.pt after epoch 1"; exit 1; }
"$py" -m siamfc.tools.cli train --out "$run" --resume --no-progress || exit
cp "$run"/log.csv "$run"/log.json "$run"/loss.png "$out/"
[[ -f $run/weights.pt ]] || { echo "no weights.pt after the resumed run"; exit 1; }
cat "$run/log.csv"'

step synth 120 "${cli[@]}" synth "$work/src" "${SYNTH[@]}"
step curate 120 "${cli[@]}" curate "$work/src" "$work/cur" --workers "$CURATE_WORKERS" --no-progress
cp "$work/cur/summary.json" "$out/curate-summary.json" 2>/dev/null
step train-b8 120 "${cli[@]}" bench train "$work/cur" --device "$DEVICE" --amp "${B8[@]}" --json "$out/train-b8.json"
step train-b64 120 "${cli[@]}" bench train "$work/cur" --device "$DEVICE" --amp "${B64[@]}" \
  --json "$out/train-b64.json"
for s in "${SCALES[@]}"; do
  step "track-$s-scales" 150 "${cli[@]}" bench track "${TRACK[@]}" --scales "$s" --json "$out/track-$s-scales.json"
done
if ((${#RUN[@]})); then step train-run 150 bash -c "$train_run" train-run "$py" "$work" "$out" "$DEVICE" "${RUN[@]}"; fi
if ((${#SCALING[@]})); then step curate-scaling 150 "${cli[@]}" bench curate "$work/src" "${SCALING[@]}"; fi

# ---- the summary ---------------------------------------------------------------------------------------------
total=$((SECONDS - start))
"$py" - "$out" "$mode" "$total" "$CURATE_WORKERS" "${failed[@]}" <<'PY' | tee "$out/summary.txt"
import csv, json, re, sys
from pathlib import Path
out, mode, total, curate_workers, failed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
PAIRS_GOAL, WAIT_GOAL, FPS_GOAL = 2800, 0.05, 300

def n(x):  # 2,812 / 31.4 / 0.365: whole numbers where they are large, three digits where they are small
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

def load(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError):
        return None

env = (out / "env.txt").read_text().splitlines() if (out / "env.txt").exists() else []
print(f"== siamfc GPU check ({mode}{': CPU figures, not the GPU goals' if mode.startswith('dry') else ''}), "
      f"{total} s of wall time")
for line in env[:2]:
    print("  " + line)
print("  " + next((line for line in env if line.startswith("torch ") and ":" in line), ""))
print(f"training with AMP (goal: >= {PAIRS_GOAL:,} pairs/s with data wait <= {100 * WAIT_GOAL:.0f} %)")
for b in (8, 64):
    r = load(f"train-b{b}.json")
    if not r:
        print(f"  batch {b}: no figures (train-b{b}.txt)")
        continue
    rows = r["workers"]
    print(f"  batch {r['batch_size']:2}: " + " | ".join(
        f"{w} workers {n(v['pairs_per_s'])}/s wait {100 * v['data_wait_share']:.1f}%" for w, v in rows.items()))
    w, best = max(rows.items(), key=lambda kv: kv[1]["pairs_per_s"])
    met = best["pairs_per_s"] >= PAIRS_GOAL and best["data_wait_share"] <= WAIT_GOAL
    print(f"    best {n(best['pairs_per_s'])} pairs/s ({w} workers, wait {100 * best['data_wait_share']:.1f}%, "
          f"floor {n(best['floor_pairs_per_s'])}/s, loader alone {n(best['loader_pairs_per_s'])}/s): the paper's "
          f"50 x 50,000 pairs in {n(best['paper_minutes'])} min -> goal {'MET' if met else 'MISSED'}")
log = out / "log.csv"
if log.exists():
    rows = list(csv.DictReader(log.open()))
    print("siamfc train (2 epochs, the 2nd after --resume): " + " | ".join(
        f"epoch {r['epoch']} loss {float(r['train_loss']):.3f} {n(float(r['pairs_per_s']))} pairs/s "
        f"wait {100 * float(r['data_wait_share']):.1f}%" for r in rows if r.get("train_loss")))
elif "quick" not in mode:
    print("siamfc train: no log (train-run.txt)")
print(f"tracker fps (goal: >= {FPS_GOAL})")
for s in (3, 5):
    r = load(f"track-{s}-scales.json")
    if not r:
        print(f"  {s} scales: no figures (track-{s}-scales.txt)")
        continue
    runs = {x["tracker"]: x for x in r["runs"]}
    best = max(runs.values(), key=lambda x: x["fps"])
    print(f"  {s} scales: " + " | ".join(f"{k} {n(v['fps'])}" for k, v in runs.items())
          + f" -> best {best['tracker']} {n(best['fps'])} fps, goal {'MET' if best['fps'] >= FPS_GOAL else 'MISSED'}")
text = (out / "curate-scaling.txt").read_text() if (out / "curate-scaling.txt").exists() else ""
fps = {int(w): float(f) for w, f in re.findall(r"^workers (\d+): curate .*?\(\s*([\d.]+) frames/s\)", text, re.M)}
summary = load("curate-summary.json")
if fps:
    first = fps[min(fps)]
    print("curation frames/s (bench curate): " + " | ".join(f"{w} workers {n(f)} ({f / first:.1f}x)"
                                                            for w, f in fps.items()))
if summary:
    print(f"  siamfc curate --workers {curate_workers} on the whole tree: {summary['frames']} frames, "
          f"{n(summary['frames_per_second'])} frames/s (pool start included)")
print("steps (s): " + ", ".join(f"{r['step']} {r['seconds']}" + ("" if r["status"] == "ok" else f" {r['status']}")
                                for r in csv.DictReader((out / "steps.tsv").open(), delimiter="\t")))
if failed:
    print("FAILED: " + "; ".join(failed))
print(f"tables: {out}")
PY
((${#failed[@]} == 0))
