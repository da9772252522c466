"""tools/gpu_check.sh: its wheel list covers every runtime dependency the GPU image lacks (no network, no GPU).

Both lists are written once, in the script's ``# >>> packages`` block; bash itself evaluates the block here, as
tools/gpu_wheels.sh does, so what the test reads is what the scripts use.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "gpu_check.sh"
WHEELS_SCRIPT = ROOT / "tools" / "gpu_wheels.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def normalise(requirement: str) -> str:
    """The distribution name of a requirement (``lmdb>=1.4``, ``crc32c==2.9.post0``), PEP 503-normalised."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert name, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", name.group(1)).lower()


def script_lists() -> dict[str, list[str]]:
    """IMAGE_PACKAGES, WHEELS and IMAGE_PYTHON as bash sees them after evaluating the script's packages block."""
    program = ('eval "$(sed -n "/^# >>> packages/,/^# <<< packages/p" "$1")"; '
               'printf "IMAGE_PACKAGES %s\\n" "${IMAGE_PACKAGES[@]}"; printf "WHEELS %s\\n" "${WHEELS[@]}"; '
               'printf "IMAGE_PYTHON %s\\n" "$IMAGE_PYTHON"')
    text = subprocess.run(["bash", "-c", program, "bash", str(SCRIPT)], capture_output=True, text=True,
                          check=True).stdout
    lists: dict[str, list[str]] = {"IMAGE_PACKAGES": [], "WHEELS": [], "IMAGE_PYTHON": []}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        lists[key].append(value)
    return lists


def runtime_dependencies() -> set[str]:
    return {normalise(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}


def uncovered(dependencies: set[str], image: list[str], wheels: list[str]) -> set[str]:
    """Runtime dependencies neither on the image nor among the wheels."""
    return dependencies - {normalise(p) for p in image} - {normalise(w) for w in wheels}


def test_the_wheels_cover_every_runtime_dependency_the_image_lacks():
    lists = script_lists()
    assert lists["IMAGE_PACKAGES"] and lists["WHEELS"], lists
    assert uncovered(runtime_dependencies(), lists["IMAGE_PACKAGES"], lists["WHEELS"]) == set()


def test_the_check_fails_when_a_wheel_is_dropped():
    lists = script_lists()
    without_lmdb = [w for w in lists["WHEELS"] if normalise(w) != "lmdb"]
    assert len(without_lmdb) == len(lists["WHEELS"]) - 1
    assert uncovered(runtime_dependencies(), lists["IMAGE_PACKAGES"], without_lmdb) == {"lmdb"}
    # and a dependency added to pyproject but to neither list is caught too
    assert uncovered(runtime_dependencies() | {"zstandard"}, lists["IMAGE_PACKAGES"], lists["WHEELS"]) == {
        "zstandard"}


def test_wheels_are_pinned_packages_the_project_needs_and_the_image_lacks():
    lists = script_lists()
    image = {normalise(p) for p in lists["IMAGE_PACKAGES"]}
    for wheel in lists["WHEELS"]:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.]+", wheel), f"{wheel}: pin it as name==version"
        assert normalise(wheel) in runtime_dependencies(), f"{wheel}: not a runtime dependency of pyproject.toml"
        assert normalise(wheel) not in image, f"{wheel}: already on the image"
    assert lists["IMAGE_PYTHON"] == ["3.12"]


def test_the_lists_are_written_once():
    """gpu_wheels.sh reads WHEELS from gpu_check.sh instead of naming packages of its own."""
    wheels_script = WHEELS_SCRIPT.read_text()
    assert "# >>> packages" in wheels_script and "gpu_check.sh" in wheels_script
    for wheel in script_lists()["WHEELS"]:
        assert normalise(wheel) not in wheels_script.lower(), f"{wheel} named in gpu_wheels.sh too"


def test_the_scripts_parse_and_refuse_bad_arguments(tmp_path):
    for script in (SCRIPT, WHEELS_SCRIPT):
        subprocess.run(["bash", "-n", str(script)], check=True)
    bad = subprocess.run(["bash", str(SCRIPT), "--no-such-option", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option" in bad.stderr
    missing = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert missing.returncode == 2 and "OUT folder missing" in missing.stderr
    assert "--dry-run" in subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True).stdout
