"""The benchmark registry and `siamfc eval` on every benchmark: each synthetic tree (siamfc synth's writers) read
through its source, tracked and scored; figures against an independent computation written here (IoU and centre
error by hand, each toolkit's rule for frames without a visible target) and, where the got10k toolkit implements the
benchmark, against its own ``Experiment*.report`` run on the result files we write; first-box-only test splits
tracked, written and packed; an evaluation resumed after a kill; sequences tracked in several processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siamfc.curate.benchmarks import (
    BENCHMARKS,
    FIGURES,
    LASOT_EXT_CLASSES,
    NOT_VISIBLE,
    RESULT_LAYOUTS,
    benchmark_for,
)
from siamfc.curate.errors import CurationError
from siamfc.curate.sources import FORMATS
from siamfc.curate.synth import SynthConfig, generate_format
from siamfc.model.eval_sequences import find_sequences
from siamfc.model.evaluate import evaluate, write_toolkit_results
from siamfc.tools.cli import main
from siamfc.tools.cmd_track import BENCHMARK_NAMES

TREES = {  # benchmark -> the synth format whose tree holds it
    "otb2015": "otb", "otb2013": "otb", "otb50": "otb", "uav123": "uav", "uav20l": "uav", "nfs30": "nfs",
    "nfs240": "nfs", "tc128": "tc128", "lasot": "lasot", "lasot_ext": "lasot", "tnl2k": "tnl2k",
    "got10k_val": "got10k", "vid_val": "vid", "sequences": "sequences", "sequences1": "sequences1",
}
UNSCORED = ("got10k_test", "trackingnet_test")


# -- the registry --------------------------------------------------------------------------------------------------
def test_the_registry_names_every_benchmark_with_a_known_source():
    assert tuple(BENCHMARKS) == BENCHMARK_NAMES  # the CLI's list, written out to keep torch-free --help fast
    assert sorted([*TREES, *UNSCORED]) == sorted(BENCHMARKS)
    for name, b in BENCHMARKS.items():
        assert b.name == name and b.source in FORMATS and b.figures in FIGURES, b
        assert b.not_visible in NOT_VISIBLE and b.result_layout in RESULT_LAYOUTS and b.result_dir, b
        assert b.scored == (name not in UNSCORED) and bool(b.pack) == (name in UNSCORED)
        assert b.one_based == (b.source in ("otb", "uav", "tc128", "lasot", "tnl2k", "sequences1"))


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, tuple[Path, list]]:
    """Every synthetic tree, once: format -> (root, truth)."""
    base = tmp_path_factory.mktemp("benchmark-trees")
    found = {}
    for fmt in sorted(set(TREES.values()) | {"trackingnet"}):
        config = SynthConfig(train_snippets=1, val_snippets=3, frames=8, sizes=((96, 72), (80, 64))) \
            if fmt == "vid" else None
        found[fmt] = (base / fmt, generate_format(base / fmt, fmt, config))
    root = base / "got10k"  # GOT-10k's test split: the val videos with their first box only, as the server gives
    (root / "test").mkdir()
    names = []
    for k, seq in enumerate(sorted((root / "val").glob("GOT-10k_Val_*")), 1):
        test = root / "test" / f"GOT-10k_Test_{k:06d}"
        test.mkdir()
        for frame in seq.glob("*.jpg"):
            shutil.copy(frame, test / frame.name)
        (test / "groundtruth.txt").write_text((seq / "groundtruth.txt").read_text().splitlines()[0] + "\n")
        names.append(test.name)
    (root / "test" / "list.txt").write_text("\n".join(names) + "\n")
    return found


def test_each_root_is_recognised_as_its_benchmark(trees):
    expect = {"otb": "otb2015", "uav": "uav123", "nfs": "nfs30", "tc128": "tc128", "lasot": "lasot", "tnl2k": "tnl2k",
              "vid": "vid_val", "trackingnet": "trackingnet_test"}
    for fmt, name in expect.items():
        assert benchmark_for(trees[fmt][0]).name == name, fmt
    got = trees["got10k"][0]
    assert benchmark_for(got / "val").name == "got10k_val" and benchmark_for(got / "test").name == "got10k_test"
    with pytest.raises(CurationError, match="got10k_val and got10k_test; say which with --benchmark"):
        benchmark_for(got)


def test_a_lasot_root_of_the_extensions_classes_is_lasot_ext(trees, tmp_path):
    root = tmp_path / "LaSOT_ext"
    shutil.copytree(trees["lasot"][0], root)
    (root / "testing_set.txt").unlink()
    assert benchmark_for(root).name == "lasot"  # every video of LaSOT, without its test list
    for k, cls in enumerate(sorted(p.name for p in root.iterdir() if p.is_dir())):
        new = sorted(LASOT_EXT_CLASSES)[k]
        for video in (root / cls).iterdir():
            video.rename(root / cls / video.name.replace(cls, new))
        (root / cls).rename(root / new)
    assert benchmark_for(root).name == "lasot_ext"
    sequences, skipped = find_sequences(root)
    assert len(sequences) == 5 and not skipped and all(s.benchmark == "lasot_ext" for s in sequences)


# -- every benchmark scored, against an independent computation and the toolkit -------------------------------------
class Drift:
    """A got10k-style tracker reading every frame (PIL: PNG frames too) and drifting 2 px right, 1 px down and
    growing 1 px a frame from the first box."""

    name = "drift"

    def track(self, img_files, box, visualize=False):
        boxes = np.zeros((len(img_files), 4))
        for f, img_file in enumerate(img_files):
            Image.open(img_file).convert("RGB")
            boxes[f] = np.asarray(box, dtype=float) + f * np.array([2.0, 1.0, 1.0, 1.0])
        return boxes, np.full(len(img_files), 0.01)


def expected_gt(bench, seq, truth) -> np.ndarray:
    """The ground truth of ``seq`` from what the synthetic writer says it wrote: the visible target's ``xyxy`` as
    ``x, y, w, h``; NaN where it is not visible (NfS: the box VATIC keeps on a lost frame, read from the file)."""
    track = int(seq.target.split()[-1]) if seq.target else 0
    rows = {getattr(t, "path", t.frame): t for t in truth if t.snippet.startswith(bench.id_prefix)
            and bench.sequence_name(t.snippet) == seq.name and t.track == track}  # VID's truth: frame numbers
    gt = np.full((len(seq), 4), np.nan)
    for i, path in enumerate(seq.frames):
        t = rows.get(path, rows.get(int(path.stem)))
        if t is not None and getattr(t, "visible", True):
            gt[i] = (t.box[0], t.box[1], t.box[2] - t.box[0] + 1, t.box[3] - t.box[1] + 1)
        elif t is not None and bench.not_visible == "placeholder":
            lines = Path(seq.gt_file).read_text().splitlines()
            step = 8 if bench.name == "nfs30" else 1
            xmin, ymin, xmax, ymax = (float(v) for v in lines[step * i].split()[1:5])
            gt[i] = (xmin, ymin, xmax - xmin, ymax - ymin)
    return gt


def by_hand(boxes: np.ndarray, gt: np.ndarray, rule: str) -> tuple[float, float, float]:
    """(success AUC, precision at 20 px, normalised precision) of one sequence, written out."""
    valid = ~np.isnan(gt).any(axis=1)
    frames = valid.sum() if rule == "drop" else len(gt)
    ious, errors, norms = [], [], []
    for b, g in zip(boxes[valid], gt[valid], strict=True):
        w = max(0.0, min(b[0] + b[2], g[0] + g[2]) - max(b[0], g[0]))
        h = max(0.0, min(b[1] + b[3], g[1] + g[3]) - max(b[1], g[1]))
        ious.append(w * h / (b[2] * b[3] + g[2] * g[3] - w * h))
        dx, dy = (b[0] + (b[2] - 1) / 2) - (g[0] + (g[2] - 1) / 2), (b[1] + (b[3] - 1) / 2) - (g[1] + (g[3] - 1) / 2)
        errors.append(np.hypot(dx, dy))
        norms.append(np.hypot(dx / g[2], dy / g[3]))
    ious, errors, norms = np.array(ious), np.array(errors), np.array(norms)
    auc = np.mean([np.sum(ious > t) / frames for t in np.linspace(0, 1, 21)])
    norm = np.mean([np.sum(norms <= t) / frames for t in np.linspace(0, 0.5, 51)])
    return auc, np.sum(errors <= 20) / frames, norm


@pytest.mark.parametrize("name", list(TREES))
def test_every_benchmark_evaluates_with_its_toolkits_figures(trees, tmp_path, name):
    bench = BENCHMARKS[name]
    root, truth = trees[TREES[name]]
    sequences, skipped = find_sequences(root, name)
    assert sequences and all(s.benchmark == name and s.scored for s in sequences)
    assert all(s.kind == "passed_over" for s in skipped), skipped  # nothing unreadable in a synthetic tree
    report = evaluate(Drift(), sequences, "drift", progress=False)
    figures = []
    for r in report.results:
        gt = expected_gt(bench, r.sequence, truth)
        scored = r.sequence.scored_gt if r.sequence.scored_gt is not None else r.sequence.gt
        np.testing.assert_array_equal(scored, gt)  # the source's reading is what the writer wrote
        figures.append(by_hand(r.boxes, gt, bench.not_visible))
        assert r.figures.auc == pytest.approx(figures[-1][0], abs=1e-9), r.sequence.name
    auc, precision, norm = np.mean(figures, axis=0)
    c = report.curves
    assert (c.auc, c.precision_20) == pytest.approx((auc, precision), abs=1e-9)
    assert 0.05 < c.auc < 0.95  # the drift makes the figure informative
    if bench.figures == "lasot":
        assert report.lasot["norm_precision"] == pytest.approx(norm, abs=1e-9) == c.norm_precision_auc
    if bench.subset:
        assert {s.name.split(".")[0] for s in sequences} <= set(bench.subset)
    results = write_toolkit_results(report, tmp_path / "results")
    folder = bench.result_folder(results, "drift")
    for r in report.results:
        seq = r.sequence.name.rsplit("/", 1)[-1]
        box_file = folder / seq / f"{seq}_001.txt" if bench.result_layout == "got10k" else folder / f"{seq}.txt"
        written = np.loadtxt(box_file, delimiter=",")
        np.testing.assert_allclose(written, r.boxes + ([bench.one_based] * 2 + [0, 0]), atol=1e-9)  # in its base


def toolkit_figures(name: str, root: Path, results: Path, reports: Path, monkeypatch) -> dict:
    """got10k's own ``Experiment*.report(["drift"])`` of benchmark ``name`` on our result files, its dataset class
    pointed at our synthetic tree (its integrity check of the official sequence list switched off)."""
    from got10k import datasets, experiments

    if name.startswith("otb"):
        version = {"otb2015": 2015, "otb2013": 2013, "otb50": "tb50"}[name]
        monkeypatch.setattr(datasets.OTB, "_check_integrity", lambda *a: None)
        monkeypatch.setattr(datasets.OTB, "_download", lambda *a: None)
        names = {2015: [p.name for p in root.iterdir()], 2013: BENCHMARKS["otb2013"].subset,
                 "tb50": BENCHMARKS["otb50"].subset}[version]
        monkeypatch.setitem(datasets.OTB._OTB__version_dict, version, names)
        exp = experiments.ExperimentOTB(str(root), version, str(results), str(reports))
    elif name.startswith("uav"):
        version = name.upper()
        monkeypatch.setattr(datasets.UAV123, "_check_integrity", lambda *a: None)
        dataset = datasets.UAV123.__new__(datasets.UAV123)
        metas = {}  # the benchmark's configSeqs for our synthetic sequences: folder and frame range
        for seq in find_sequences(root, name)[0]:
            if np.isnan(seq.gt[0]).any():
                continue  # no first box (the target out of view): neither we nor the toolkit can track it
            metas[seq.name] = {"folder_name": seq.frames[0].parent.name, "start_frame": int(seq.frames[0].stem),
                               "end_frame": int(seq.frames[-1].stem)}
        dataset.root_dir, dataset.version, dataset.seq_metas = str(root), version, {version: metas}
        dataset.anno_files = sorted(str(p) for p in (root / "anno" / version).glob("*.txt") if p.stem in metas)
        dataset.seq_names = [Path(f).stem for f in dataset.anno_files]
        dataset.seq_dirs = [str(root / "data_seq" / "UAV123" / metas[n]["folder_name"]) for n in dataset.seq_names]
        exp = experiments.ExperimentUAV123.__new__(experiments.ExperimentUAV123)
        exp.dataset, exp.nbins_iou, exp.nbins_ce = dataset, 21, 51
        exp.result_dir, exp.report_dir = str(results / version), str(reports / version)
    elif name.startswith("nfs"):
        monkeypatch.setattr(datasets.NfS, "_check_integrity", lambda *a: None)
        exp = experiments.ExperimentNfS(str(root), int(name[3:]), str(results), str(reports))
    else:
        monkeypatch.setattr(datasets.TColor128, "_check_integrity", lambda *a: None)
        monkeypatch.setattr(datasets.TColor128, "_download", lambda *a: None)
        exp = experiments.ExperimentTColor128(str(root), str(results), str(reports))
    return exp.report(["drift"])["drift"]


@pytest.mark.parametrize("name", ["otb2015", "otb2013", "otb50", "uav123", "uav20l", "nfs30", "nfs240", "tc128"])
def test_figures_equal_the_got10k_toolkits_report_on_our_result_files(trees, tmp_path, monkeypatch, name):
    pytest.importorskip("got10k.experiments")
    root, _ = trees[TREES[name]]
    sequences, _ = find_sequences(root, name)
    report = evaluate(Drift(), sequences, "drift", progress=False)
    results = write_toolkit_results(report, tmp_path / "results")
    toolkit = toolkit_figures(name, root, results, tmp_path / "reports", monkeypatch)
    assert sorted(toolkit["seq_wise"]) == sorted(r.sequence.name for r in report.results)
    for r in report.results:
        theirs = toolkit["seq_wise"][r.sequence.name]
        np.testing.assert_allclose(r.figures.success, theirs["success_curve"], atol=1e-6)
        np.testing.assert_allclose(r.figures.precision, theirs["precision_curve"], atol=1e-6)
    assert report.curves.auc == pytest.approx(toolkit["overall"]["success_score"], abs=1e-6)
    assert report.curves.precision_20 == pytest.approx(toolkit["overall"]["precision_score"], abs=1e-6)


# -- first box only: tracked, written, packed ------------------------------------------------------------------------
def eval_args(data: Path, out: Path, weights: Path, *options: str) -> list[str]:
    return ["eval", "--dataset", str(data), "--weights", str(weights), "--out", str(out), "--device", "cpu",
            "--no-progress", "--scales", "1", *options]


@pytest.mark.slow
@pytest.mark.parametrize("name", UNSCORED)
def test_test_splits_are_tracked_written_and_packable(trees, tmp_path, capsys, weights, name):
    bench = BENCHMARKS[name]
    root = trees["got10k"][0] if name == "got10k_test" else trees["trackingnet"][0]
    out = tmp_path / "eval"
    assert main(eval_args(root, out, weights, "--benchmark", name)) == 0
    printed = capsys.readouterr().out
    assert "first box only: tracked and written, not scored" in printed and f"siamfc pack {bench.pack}" in printed
    report = json.loads((out / "SiamFC.json").read_text())
    assert report["scored"] is False and report["benchmark"] == name and "auc" not in report
    sequences, _ = find_sequences(root, name)
    folder = bench.result_folder(out / "results", "SiamFC")
    for seq in sequences:
        box_file = folder / seq.name / f"{seq.name}_001.txt" if name == "got10k_test" else folder / f"{seq.name}.txt"
        boxes = np.loadtxt(box_file, delimiter=",")
        assert boxes.shape == (len(seq), 4)
        first = np.array([float(v) for v in Path(seq.gt_file).read_text().splitlines()[0].split(",")])
        np.testing.assert_allclose(boxes[0], first, atol=1e-3)  # the given first box, 0-based as given
    assert main(["pack", bench.pack, str(out / "results"), "--dataset", str(root), "--out", str(tmp_path / "p.zip"),
                 "--weights", str(weights)]) == 0
    with zipfile.ZipFile(tmp_path / "p.zip") as z:
        entries = z.namelist()
    expect = [f"{s.name}/{s.name}_001.txt" for s in sequences] if name == "got10k_test" else [
        f"{s.name}.txt" for s in sequences]
    assert set(expect) <= set(entries)


# -- resume, workers -------------------------------------------------------------------------------------------------
def own_tree(tmp_path: Path) -> Path:
    root = tmp_path / "own"
    generate_format(root, "sequences", SynthConfig(train_snippets=4, val_snippets=0, frames=8,
                                                   sizes=((96, 72), (80, 64))))
    return root


def figures_of(out: Path) -> dict:
    """The report without its speeds (measured anew by a rerun)."""
    report = json.loads((out / "SiamFC.json").read_text())
    drop = {"fps", "fps_with_decoding"}
    return {k: ({n: {f: v for f, v in s.items() if f not in drop} for n, s in value.items()}
                if k == "per_sequence" else value) for k, value in report.items() if k not in drop}


def records(out: Path) -> list[Path]:
    return sorted(p for p in (out / "SiamFC" / "records").glob("*.json") if p.name != "run.json")


@pytest.mark.slow
def test_a_killed_evaluation_resumes_where_it_stopped(tmp_path, weights, capsys):
    data = own_tree(tmp_path)
    clean = tmp_path / "clean"
    assert main(eval_args(data, clean, weights, "--benchmark", "sequences")) == 0
    assert len(records(clean)) == 4
    out = tmp_path / "killed"  # a real process killed once it has recorded a sequence
    proc = subprocess.Popen([sys.executable, "-m", "siamfc.tools.cli",
                             *eval_args(data, out, weights, "--benchmark", "sequences")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not records(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(records(out))
    assert 1 <= done <= 4
    records(out)[-1].unlink() if done == 4 else None  # finished before the kill: one sequence lost, as a kill would
    done = len(records(out))
    capsys.readouterr()
    assert main(eval_args(data, out, weights, "--benchmark", "sequences")) == 0
    assert f"resumed: {done} of 4 sequences" in capsys.readouterr().out
    assert figures_of(out) == figures_of(clean)
    assert main(eval_args(data, out, weights, "--benchmark", "sequences", "--force")) == 0
    assert "resumed" not in capsys.readouterr().out and figures_of(out) == figures_of(clean)
    status = main(eval_args(data, out, weights, "--benchmark", "sequences", "--scale-step", "1.05"))
    err = capsys.readouterr().err
    assert status == 2 and "records of another evaluation" in err and "tracker differ" in err


@pytest.mark.slow
def test_workers_track_in_processes_with_the_same_results(tmp_path, weights, capsys):
    data = own_tree(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(eval_args(data, one, weights, "--benchmark", "sequences")) == 0
    assert main(eval_args(data, two, weights, "--benchmark", "sequences", "--workers", "2")) == 0
    assert figures_of(one) == figures_of(two)
    for path in sorted((one / "SiamFC").glob("*.txt")):
        assert path.read_text() == (two / "SiamFC" / path.name).read_text(), path.name
