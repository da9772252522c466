#!/usr/bin/env bash
# Fetch, where PyPI is reachable, the manylinux wheels of every runtime dependency the GPU image lacks into .whl/
# (git-ignored), for tools/gpu_check.sh to install on the GPU machine, which can fetch nothing. The package list is
# the WHEELS array of tools/gpu_check.sh (written once, there).
# Usage, from anywhere:  bash tools/gpu_wheels.sh [--dest DIR] [PYTHON_VERSION ...]
#   default: the image's Python (IMAGE_PYTHON, 3.12) into .whl/; the dry run fetches its own Python's elsewhere,
#   so that .whl/ holds one version of each package, the image's.
# Rerunning skips wheels already there. Copy .whl/ along with the working tree (the device tool: carry ".whl").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
eval "$(sed -n '/^# >>> packages/,/^# <<< packages/p' "$root/tools/gpu_check.sh")"
dest=$root/.whl
if [[ ${1:-} == --dest ]]; then
  dest=${2:?gpu_wheels.sh: --dest needs a folder}
  shift 2
fi
versions=("$@")
((${#versions[@]})) || versions=("$IMAGE_PYTHON")
mkdir -p "$dest"
pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || pip=(pip)
for v in "${versions[@]}"; do
  echo "wheels for CPython $v: ${WHEELS[*]}"
  # manylinux_2_28 first; older tags too, for a package that ships only manylinux2014 / manylinux1 wheels
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --python-version "$v" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 \
    --platform manylinux1_x86_64 --dest "$dest" "${WHEELS[@]}" 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  ((PIPESTATUS[0] == 0)) || { echo "gpu_wheels.sh: pip download failed for Python $v" >&2; exit 1; }
done
ls -l "$dest"/*.whl | awk '{printf "%9d  %s\n", $5, $NF}'
kib=$(du -sk "$dest" | cut -f1)
echo "$dest: $kib KiB (what travels with the working tree: at most 64 MiB in all)"
((kib < 32 * 1024)) || { echo "gpu_wheels.sh: $dest is over 32 MiB: too much to carry" >&2; exit 1; }
