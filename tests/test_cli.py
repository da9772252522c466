"""The `siamfc` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

from siamfc.curate.manifest import load_manifest


def siamfc(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siamfc.tools.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_help_lists_every_step():
    out = siamfc("--help").stdout
    for command in ("synth", "curate", "demo", "bench"):
        assert command in out


def test_synth_then_curate_then_rerun(tmp_path):
    vid, out = tmp_path / "vid", tmp_path / "out"
    assert siamfc("synth", str(vid), "--train-snippets", "2", "--val-snippets", "1", "--frames", "6").returncode == 0
    first = siamfc("curate", str(vid), str(out), "--no-progress", "--shards", "2", "--workers", "2")
    assert first.returncode == 0, first.stderr
    assert "3 curated, 0 already done" in first.stdout
    records = len(load_manifest(out))
    assert records > 0 and f"{records} in the curation" in first.stdout
    again = siamfc("curate", str(vid), str(out), "--no-progress", "--shards", "2")
    assert again.returncode == 0 and "0 curated, 3 already done" in again.stdout
    other = siamfc("curate", str(vid), str(out), "--no-progress", "--shards", "4")
    assert other.returncode == 2 and "shards: 2 on disk vs 4 asked" in other.stderr


def test_demo_runs_the_chain(tmp_path):
    proc = siamfc("demo", "--dir", str(tmp_path / "demo"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "demo" / "curation" / "summary.json").read_text())
    assert summary["records"] > 0 and summary["skipped"] == 0
