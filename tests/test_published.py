"""Published results (`siamfc eval --compare FOLDER`): folders written here from known boxes (the ground truth
shifted by known offsets) in the got10k toolkit's, the LaSOT toolkit's and pytracking's layouts, read back and
scored; the figures are checked against a computation written out here, apart from siamfc.model.metrics."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from siamfc.model.eval_plots import plot_runs
from siamfc.model.eval_sequences import EvalSequence
from siamfc.model.published import PublishedResultsWarning, load_published

NFS30 = SimpleNamespace(name="nfs30", result_dir=("NfS", "30"), one_based=False)
UAV123 = SimpleNamespace(name="uav123", result_dir=("UAV123",), one_based=True)
OTB = SimpleNamespace(name="otb2015", result_dir=("OTB2015",), one_based=True)
SEQ_SUMMARY_KEYS = ("name", "auc", "precision_20", "norm_precision", "success_curve", "precision_curve",
                    "norm_precision_curve", "sequences", "frames")


def sequence(name: str, frames: int, seed: int, layout: str = "otb2015", size: float = 30.0) -> EvalSequence:
    """A sequence of ``frames`` ground-truth boxes (0-based) wandering in a 640x480 frame; frame 3 unannotated."""
    rng = np.random.default_rng(seed)
    gt = np.column_stack([rng.uniform(10, 400, frames), rng.uniform(10, 300, frames),
                          rng.uniform(size, 2 * size, frames), rng.uniform(size, 2 * size, frames)])
    gt[3] = np.nan
    return EvalSequence(name, tuple(Path(f"{i:04d}.jpg") for i in range(1, frames + 1)), gt, layout)


def shifted(seq: EvalSequence, seed: int) -> np.ndarray:
    """The ground truth moved by known offsets per frame (up to 25 px, so IoUs and errors spread); the first
    frame is the ground truth, as a tracker's first box is; unannotated frames get some box."""
    rng = np.random.default_rng(seed)
    boxes = seq.gt.copy()
    boxes[3] = [50, 50, 40, 40]
    boxes[1:, :2] += rng.uniform(-25, 25, (len(boxes) - 1, 2))
    boxes[1:, 2:] *= rng.uniform(0.7, 1.4, (len(boxes) - 1, 2))
    return np.round(boxes, 4)  # as written


def write(path: Path, boxes: np.ndarray, sep: str = ",", fmt: str = "%.4f") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, boxes, fmt=fmt, delimiter=sep)
    return path


def iou(a, b) -> float:
    """Overlap of two x,y,w,h boxes, written out (a box covers [x, x + w) x [y, y + h))."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return min(inter / union, 1.0) if union > 0 else 0.0  # a box on itself: 1, never 1 + rounding


def independent(pairs: list[tuple[np.ndarray, np.ndarray]], fail: bool = False, first_from_gt: bool = True,
                ) -> dict[str, float]:
    """OTB's figures the long way: per sequence, the fraction of frames with IoU above each of 0, 0.05, ..., 1
    (mean: AUC) and with centre error (centres x + (w - 1) / 2) at most 20 px, then the mean over sequences.
    Frames without a ground-truth box are left out, or (``fail``: OTB's, LaSOT's toolkits) count as failures;
    ``first_from_gt``: the first box is the ground truth's (got10k's ExperimentOTB.report)."""
    aucs, precisions = [], []
    for boxes, gt in pairs:
        ious, errors, frames = [], [], 0
        for k, (b, g) in enumerate(zip(boxes, gt, strict=True)):
            frames += 1
            if not (np.all(np.isfinite(g)) and g[2] > 0 and g[3] > 0):
                frames -= 0 if fail else 1
                continue
            b = g if k == 0 and first_from_gt else b
            ious.append(iou(b, g))
            cb = (b[0] + (b[2] - 1) / 2, b[1] + (b[3] - 1) / 2)
            cg = (g[0] + (g[2] - 1) / 2, g[1] + (g[3] - 1) / 2)
            errors.append(((cb[0] - cg[0]) ** 2 + (cb[1] - cg[1]) ** 2) ** 0.5)
        thresholds = [k * 0.05 for k in range(21)]  # 0:0.05:1, as the toolkits step them
        aucs.append(sum(sum(v > t for v in ious) / frames for t in thresholds) / len(thresholds))
        precisions.append(sum(e <= 20 for e in errors) / frames)
    return {"auc": sum(aucs) / len(aucs), "precision_20": sum(precisions) / len(precisions)}


def test_got10k_layout_figures_match_an_independent_computation(tmp_path):
    seqs = [sequence(f"seq{i}", 40 + 7 * i, seed=i, layout="nfs30") for i in range(3)]
    root = tmp_path / "results"  # the got10k toolkit's result_dir: NfS/30/<tracker>/<seq>.txt
    truth = {}
    for t, tracker in enumerate(("TrackerA", "TrackerB")):
        truth[tracker] = []
        for k, seq in enumerate(seqs):
            boxes = shifted(seq, 100 * t + k)
            write(root / "NfS" / "30" / tracker / f"{seq.name}.txt", boxes)
            truth[tracker].append((boxes, seq.gt))
    published = load_published(root, NFS30, seqs)
    runs = published.named()
    assert list(runs) == ["TrackerA", "TrackerB"]
    for tracker, pairs in truth.items():
        run, expected = runs[tracker], independent(pairs, fail=True)  # NfS: no box, no success
        assert run["auc"] == pytest.approx(expected["auc"], abs=1e-9)
        assert run["precision_20"] == pytest.approx(expected["precision_20"], abs=1e-9)
        assert run["compared_on"] == 3 and run["sequences"] == 3 and run["name"] == tracker
        assert all(k in run for k in SEQ_SUMMARY_KEYS)
        assert run["fps"] is None  # no time files
    assert runs["TrackerA"]["auc"] != pytest.approx(runs["TrackerB"]["auc"])
    assert any("TrackerA" in line and "compared on 3 of 3" in line for line in published.lines)
    # the same folder given at each level finds the same trackers
    assert list(load_published(root / "NfS" / "30", NFS30, seqs).named()) == ["TrackerA", "TrackerB"]
    one = load_published(root / "NfS" / "30" / "TrackerB", NFS30, seqs).named()
    assert list(one) == ["TrackerB"] and one["TrackerB"]["auc"] == runs["TrackerB"]["auc"]
    # the runs plot beside a report summary like load_summary's dicts
    ours = dict(runs["TrackerA"], name="SiamFC")
    assert plot_runs([ours, *published], tmp_path / "plot.png").stat().st_size > 0


def test_one_based_results_are_shifted_to_our_base(tmp_path):
    """Small boxes (6 px): a 1-pixel offset costs a third of the overlap, so ignoring the base shows."""
    seqs = [sequence(f"bike{i}", 30, seed=10 + i, layout="uav123", size=6) for i in range(2)]
    for seq in seqs:  # the ground truth itself, written in the dataset's 1-based pixels (as the toolkits do)
        one_based = seq.gt.copy()
        one_based[:, :2] += 1
        one_based[3] = np.nan
        write(tmp_path / "UAV123" / "Perfect" / f"{seq.name}.txt", one_based, fmt="%.6f")
    perfect = load_published(tmp_path, UAV123, seqs).named()["Perfect"]
    assert perfect["auc"] == pytest.approx(20 / 21)  # every IoU 1: above every threshold but 1 itself
    assert perfect["precision_20"] == 1.0
    assert perfect["success_curve"][-2] == 1.0  # IoU above 0.95 on every frame: exactly the ground truth
    ignored = load_published(tmp_path, SimpleNamespace(name="x", result_dir=("UAV123",), one_based=False), seqs)
    assert ignored.named()["Perfect"]["auc"] < 0.8  # read without the shift, the same files are 1 px off


def test_benchmark_none_takes_each_sequences_base(tmp_path):
    seq = sequence("Basketball", 20, seed=3, size=6)
    seq = EvalSequence(seq.name, seq.frames, seq.gt, "otb2015", one_based=True)
    boxes = seq.gt.copy()
    boxes[:, :2] += 1
    write(tmp_path / "T" / "Basketball.txt", np.nan_to_num(boxes, nan=5.0))
    # OTB's rule: the unannotated frame 3 fails, counted among the 20
    assert load_published(tmp_path / "T", None, [seq])[0]["auc"] == pytest.approx(20 / 21 * 19 / 20)


def test_missing_short_and_malformed_files_leave_sequences_out(tmp_path):
    seqs = [sequence(f"s{i}", 25, seed=20 + i) for i in range(4)]
    folder = tmp_path / "Partial"
    good = shifted(seqs[0], 1)
    write(folder / "s0.txt", good)
    write(folder / "s1.txt", shifted(seqs[1], 2)[:-3])  # short: 22 boxes for 25 frames
    bad = folder / "s2.txt"
    write(bad, shifted(seqs[2], 3))
    lines = bad.read_text().splitlines()
    lines[6] = "12,abc,3,4"
    bad.write_text("\n".join(lines) + "\n")
    # s3: no file at all
    write(tmp_path / "Nothing" / "s1.txt", shifted(seqs[1], 4)[:5])  # a tracker with nothing usable
    with pytest.warns(PublishedResultsWarning) as warned:
        runs = load_published(tmp_path, OTB, seqs)
    assert [r["tracker"] for r in runs] == ["Partial"]
    run = runs[0]
    assert run["name"] == "Partial (1/4)" and run["compared_on"] == 1 and run["evaluated"] == 4
    boxes = good.copy()
    boxes[:, :2] -= 1  # OTB is 1-based
    assert run["auc"] == pytest.approx(independent([(boxes, seqs[0].gt)], fail=True)["auc"], abs=1e-9)
    text = "\n".join(runs.lines)
    assert "compared on 1 of 4 sequences" in text
    assert "1 sequence without a result file, left out: s3" in text
    assert f"{folder / 's1.txt'}: 22 boxes for 25 frames" in text
    assert f"{bad}, line 7: '12,abc,3,4' is not 4 numbers" in text
    assert "published Nothing" in text and "skipped" in text
    assert set(run["left_out"]) == {"missing", "short", "malformed"}
    assert [str(w.message) for w in warned] == [line.strip() for line in runs.lines]  # the CLI prints each


def test_lasot_toolkit_and_pytracking_layouts(tmp_path):
    lasot = [sequence(f"airplane/airplane-{i}", 30, seed=30 + i, layout="lasot") for i in (1, 2)]
    bench = SimpleNamespace(name="lasot", result_dir=("LaSOT",), one_based=True)
    root = tmp_path / "tracking_results"  # LaSOT toolkit: <tracker>_tracking_result/<seq>.txt, dlmread
    pairs = []
    for k, seq in enumerate(lasot):
        boxes = np.round(shifted(seq, 40 + k))
        write(root / "SiamFC_tracking_result" / f"{_short(seq.name)}.txt", boxes, sep=" ", fmt="%d")
        pairs.append((boxes - [1, 1, 0, 0], seq.gt))
    runs = load_published(root, bench, lasot).named()
    assert list(runs) == ["SiamFC"]
    expected = independent(pairs, fail=True, first_from_gt=False)  # LaSOT's toolkit: every frame counts
    assert runs["SiamFC"]["auc"] == pytest.approx(expected["auc"], abs=1e-9)
    assert "lasot" in runs["SiamFC"]  # LaSOT's own rule, as in our report

    uav = [sequence(n, 30, seed=50 + i, layout="uav123") for i, n in enumerate(("bike1", "person12_2"))]
    folder = tmp_path / "pytracking" / "dimp" / "dimp50"  # pytracking: uav_<seq>.txt tab-separated, times beside
    for k, seq in enumerate(uav):
        write(folder / f"uav_{seq.name}.txt", shifted(seq, 60 + k), sep="\t", fmt="%d")
        np.savetxt(folder / f"uav_{seq.name}_time.txt", np.full(len(seq.gt), 0.01), fmt="%f")
    runs = load_published(tmp_path / "pytracking", "uav123", uav).named()  # a registry name will do
    assert list(runs) == ["dimp50"]
    assert runs["dimp50"]["fps"] == pytest.approx(100.0)
    assert runs["dimp50"]["compared_on"] == 2


def test_otb_second_targets_match_each_toolkits_name(tmp_path):
    names = ("Jogging.1", "Jogging.2", "Human4")
    seqs = [sequence(n, 20, seed=70 + i) for i, n in enumerate(names)]
    for tracker, files in (("got10k", names), ("pytracking", ("Jogging_1", "Jogging_2", "Human4_2")),
                           ("otbkit", ("jogging-1", "jogging-2", "human4"))):
        for seq, file in zip(seqs, files, strict=True):
            write(tmp_path / "OTB2015" / tracker / f"{file}.txt", shifted(seq, 80))
    runs = load_published(tmp_path, OTB, seqs).named()
    assert sorted(runs) == ["got10k", "otbkit", "pytracking"]
    assert {r["compared_on"] for r in runs.values()} == {3}
    assert len({round(r["auc"], 12) for r in runs.values()}) == 1


def test_nothing_matching_is_refused_in_one_line(tmp_path):
    seqs = [sequence("Basketball", 10, seed=1)]
    write(tmp_path / "T" / "Other.txt", shifted(seqs[0], 1))
    with pytest.raises(ValueError, match=r"no published result file matches any of the 1 sequences"):
        load_published(tmp_path, OTB, seqs)
    with pytest.raises(FileNotFoundError):
        load_published(tmp_path / "absent", OTB, seqs)
    with pytest.raises(ValueError, match="give --dataset"):
        load_published(tmp_path, OTB, None)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def test_an_eval_out_folder_reads_its_results_not_its_report_boxes(tmp_path):
    """``siamfc eval --out OUT`` writes OUT/<name>/<seq>.txt (0-based, beside OUT/<name>.json) and the toolkit's
    OUT/results/OTB2015/<name>/<seq>.txt (1-based): given OUT, the 1-based toolkit files are the ones read."""
    seq = sequence("Basketball", 20, seed=5, size=6)
    boxes = seq.gt.copy()
    write(tmp_path / "SiamFC" / "Basketball.txt", np.nan_to_num(boxes, nan=5.0))
    (tmp_path / "SiamFC.json").write_text("{}")
    boxes[:, :2] += 1
    write(tmp_path / "results" / "OTB2015" / "SiamFC" / "Basketball.txt", np.nan_to_num(boxes, nan=5.0))
    runs = load_published(tmp_path, OTB, [seq]).named()
    assert list(runs) == ["SiamFC"] and runs["SiamFC"]["auc"] == pytest.approx(20 / 21 * 19 / 20)
    assert runs["SiamFC"]["source"] == str(tmp_path / "results" / "OTB2015" / "SiamFC")
