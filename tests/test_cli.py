"""The `siamfc` command as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from siamfc.curate.manifest import load_manifest

from cli_runner import run_cli


def siamfc(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """``siamfc ARGS`` in a fresh process, as a user runs it."""
    return run_cli(*args, fresh=True, cwd=cwd)


def test_help_lists_every_step():
    out = siamfc("--help").stdout
    for command in ("synth", "curate", "stats", "train", "track", "eval", "demo", "bench"):
        assert f"    {command} " in out, command


def modules_loaded(*args: str) -> tuple[int, set[str]]:
    """``(exit status, the heavy modules loaded)`` of ``siamfc ARGS`` run in a fresh interpreter."""
    probe = ("import runpy, sys\n"
             f"sys.argv = ['siamfc', *{list(args)!r}]\n"
             "try:\n    runpy.run_module('siamfc.tools.cli', run_name='__main__')\n"
             "except SystemExit as e:\n    status = e.code\n"
             "print('LOADED', status, *[m for m in ('torch', 'matplotlib', 'joblib', 'cv2', 'lmdb') "
             "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    words = next(line for line in done.stdout.splitlines() if line.startswith("LOADED")).split()
    return int(words[1]), set(words[2:])


@pytest.mark.slow
def test_help_imports_no_torch_and_a_curation_never_does(tmp_path):
    assert modules_loaded("--help") == (0, set())
    for command in ("synth", "curate", "stats", "train", "track", "eval", "demo", "bench"):
        status, loaded = modules_loaded(command, "--help")
        assert status == 0 and "torch" not in loaded, (command, loaded)
    vid = tmp_path / "vid"
    assert modules_loaded("synth", str(vid), "--train-snippets", "1", "--val-snippets", "0", "--frames", "3")[0] == 0
    status, loaded = modules_loaded("curate", str(vid), str(tmp_path / "out"), "--no-progress", "--shards", "1")
    assert status == 0 and "joblib" in loaded and "torch" not in loaded  # it did curate, without torch
    assert len(load_manifest(tmp_path / "out")) > 0


@pytest.mark.slow
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


@pytest.mark.slow
def test_demo_runs_the_chain(tmp_path):
    demo = tmp_path / "demo"
    proc = siamfc("demo", "--dir", str(demo), "--no-progress", "--epochs", "1", "--pairs", "16")
    assert proc.returncode == 0, proc.stderr
    for step in ("synth", "curate", "stats", "train", "eval"):
        assert f"$ siamfc {step} " in proc.stdout
    assert "$ siamfc synth --format got10k " in proc.stdout
    sources = {row["source"]: row for row in json.loads((demo / "stats" / "sources.json").read_text())}
    for i, (name, crops) in enumerate((("vid", "vid-crops"), ("got10k", "got10k-crops"))):
        summary = json.loads((demo / crops / "summary.json").read_text())
        assert summary["records"] > 0 and summary["skipped"] == 0
        assert sources[name]["records"] == summary["records"]
        stats = json.loads((demo / "stats" / f"{i}-{crops}" / "stats.json").read_text())
        assert stats["source"] == name and stats["records"] == summary["records"]
    config = json.loads((demo / "run" / "config.json").read_text())
    assert len(config["data"]) == 2  # trained on the mix
    assert (demo / "run" / "weights.pt").is_file() and (demo / "eval" / "demo.png").is_file()
    report = json.loads((demo / "eval" / "demo.json").read_text())
    assert report["sequences"] == 2 and len(report["per_sequence"]) == 2  # the two synthetic val snippets
    success = report["success_curve"]  # the success rate at each overlap threshold, falling from the first
    assert len(success) == len(report["thresholds"]["iou"]) and all(
        success[i] >= success[i + 1] for i in range(len(success) - 1))
    assert report["auc"] == pytest.approx(sum(success) / len(success))  # success AUC: the curve's mean
    assert sum(s["frames"] for s in report["per_sequence"].values()) == report["frames"]
    assert (demo / "eval-got10k" / "demo.json").is_file()


@pytest.mark.slow
def test_bench_sampler_modes_are_the_options_choices():
    from siamfc.tools.bench_sampler import MODES
    from siamfc.tools.cmd_bench import SAMPLER_MODES

    assert set(SAMPLER_MODES) == set(MODES)


def test_format_choices_follow_the_sources():
    from siamfc.curate.sources import FORMATS
    from siamfc.curate.synth import WRITERS
    from siamfc.tools.cmd_curate import FORMATS as CLI_FORMATS

    assert tuple(FORMATS) == CLI_FORMATS == tuple(WRITERS)
    helps = [siamfc(*cmd, "--help").stdout for cmd in (["curate"], ["synth"], ["bench", "curate"])]
    assert all("{" + ",".join(FORMATS) + "}" in h.replace("\n", "").replace(" ", "") for h in helps)


def test_the_help_of_curate_and_eval_imports_no_dataset_code():
    """Their choices and words come from the catalogue (pure data), never from the sources or the model."""
    for command in ("curate", "synth"):
        status, loaded = modules_loaded(command, "--help")
        assert status == 0 and not loaded & {"torch", "cv2", "lmdb"}, (command, loaded)
    status, loaded = modules_loaded("eval", "--help")
    assert status == 0 and not loaded & {"torch", "lmdb"}, loaded


@pytest.mark.xfail(strict=True, reason="model/tracker_config.py imports CONTEXT from curate.geometry, which imports "
                   "cv2: eval --help loads it until that import goes")
def test_the_help_of_eval_imports_no_cv2():
    assert "cv2" not in modules_loaded("eval", "--help")[1]


def test_the_catalogue_is_the_sources_and_the_benchmarks():
    from siamfc.curate import catalogue
    from siamfc.curate.benchmarks import BENCHMARKS
    from siamfc.curate.sources import FORMATS
    from siamfc.tools.cmd_track import BENCHMARK_NAMES

    assert list(FORMATS) == list(catalogue.FORMATS)
    for name, fmt in FORMATS.items():
        entry = catalogue.FORMATS[name]
        assert (fmt.name, fmt.title, tuple(fmt.splits)) == (entry.name, entry.title, entry.splits)
    assert tuple(BENCHMARKS) == tuple(catalogue.BENCHMARKS) == BENCHMARK_NAMES
    for name, bench in BENCHMARKS.items():
        entry = catalogue.BENCHMARKS[name]
        assert (bench.title, bench.source) == (entry.title, entry.source)


def _words(text: str) -> str:
    return " ".join(text.split())  # argparse wraps lines


def test_no_help_names_fewer_datasets_than_the_package_reads():
    from siamfc.curate import catalogue

    top = _words(siamfc("--help").stdout)
    curate = _words(siamfc("curate", "--help").stdout)
    synth = _words(siamfc("synth", "--help").stdout)
    evaluate = _words(siamfc("eval", "--help").stdout)
    for fmt in catalogue.FORMATS.values():
        assert fmt.title in curate and fmt.title in synth, fmt.title  # --format lists each with its title
        assert fmt.short in curate, fmt.short  # and the command's description names it
        assert f"{fmt.name} {', '.join(fmt.splits)}" in curate  # --split: its splits
    for bench in catalogue.BENCHMARKS.values():
        assert f"{bench.name}: {bench.title}" in evaluate, bench.name
        assert catalogue.FORMATS[bench.source].short in evaluate
    for name in catalogue.dataset_names(catalogue.TRAINING) + catalogue.benchmark_datasets():
        assert name in top, name  # siamfc's description and its command table
    assert "VID object" not in top and "ILSVRC2015-layout" not in top


def test_package_descriptions_name_every_training_set_and_benchmark():
    from siamfc import curate, model
    from siamfc.curate import catalogue

    root = Path(__file__).resolve().parents[1]
    described = re.search(r'^description = "(.*)"$', (root / "pyproject.toml").read_text(), re.M).group(1)
    for name in catalogue.dataset_names(catalogue.TRAINING):
        assert name in described and name in curate.__doc__, name
    for name in catalogue.dataset_names(catalogue.BENCHMARK):
        assert name.split("/")[0] in described and name in curate.__doc__ and name in model.__doc__, name
    for name in catalogue.benchmark_datasets():
        assert name in _words(model.__doc__), name


def test_the_readme_lists_every_format_and_benchmark():
    from siamfc.curate import catalogue

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    forced = re.search(r"`--format ([a-z0-9|]+)`", readme).group(1)
    assert forced.split("|") == list(catalogue.FORMATS)
    table = [line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| `")]
    for name in catalogue.FORMATS:
        assert any(f"`{name}`" in cell for cell in table), name
    evaluated = re.search(r"or `--benchmark` ([a-z0-9_, ]+)\)", readme).group(1)
    assert evaluated.split(", ") == list(catalogue.BENCHMARKS)
