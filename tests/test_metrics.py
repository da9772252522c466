"""Evaluation: metric functions against hand-computed values, the OTB / GOT-10k / VID-val benchmarks read through
their sources on folders written here, and `siamfc eval` end to end (JSON figures recomputed independently from its
box files)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from siamfc.curate.errors import BadInput
from siamfc.curate.sources.text_files import parse_box
from siamfc.curate.synth import SynthConfig, generate
from siamfc.model.eval_sequences import find_sequences
from siamfc.model.evaluate import evaluate, write_toolkit_results
from siamfc.model.metrics import (
    center_error,
    mean_curves,
    normalized_center_error,
    precision_curve,
    rect_iou,
    sequence_curves,
    success_curve,
)
from siamfc.model.net import SiamFCNet
from siamfc.tools.cli import main


def test_rect_iou_hand_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 5]])
    b = np.array([[5, 5, 10, 10], [0, 0, 10, 10], [10, 0, 10, 10], [2, 2, 5, 5], [-5, 2, 10, 4], [0, 0, 0, 5]])
    # 25 / (100 + 100 - 25); identical; touching edges; contained 25 / 100; 5x4=20 / (100 + 40 - 20); empty
    np.testing.assert_allclose(rect_iou(a, b), [25 / 175, 1, 0, 0.25, 20 / 120, 0])


def test_centre_errors_hand_values():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [10, 20, 20, 10]])
    boxes = np.array([[3, 4, 10, 10], [0, 0, 20, 20], [16, 24, 20, 10]])
    # centres (4.5, 4.5) -> (7.5, 8.5): 3-4-5; (4.5, 4.5) -> (9.5, 9.5); (19.5, 24.5) -> (25.5, 28.5)
    np.testing.assert_allclose(center_error(boxes, gt), [5, 5 * np.sqrt(2), np.hypot(6, 4)])
    # divided by the ground truth's w, h: (0.3, 0.4) -> 0.5; (0.5, 0.5); (6 / 20, 4 / 10) -> 0.5
    np.testing.assert_allclose(normalized_center_error(boxes, gt), [0.5, np.sqrt(0.5), 0.5])


def test_success_and_precision_curves_hand_values():
    ious = np.array([0.0, 0.5, 1.0])
    curve = success_curve(ious)
    assert len(curve) == 21
    # strictly above: at 0 -> {0.5, 1}; 0.05 .. 0.45 -> the same 2; at 0.5 .. 0.95 -> {1}; at 1 -> none
    np.testing.assert_allclose(curve[[0, 9, 10, 19, 20]], [2 / 3, 2 / 3, 1 / 3, 1 / 3, 0])
    assert curve.mean() == pytest.approx((10 * 2 + 10 * 1) / (21 * 3))  # AUC = 10 / 21
    precision = precision_curve(np.array([0.0, 20.0, 20.5, 100.0]))
    assert len(precision) == 51 and precision[20] == 0.5 and precision[0] == 0.25 and precision[50] == 0.75


def test_sequence_curves_skip_unannotated_frames_and_sequences_weigh_equally():
    gt = np.array([[0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10], [0, 0, 0, 0]])
    boxes = np.array([[0, 0, 10, 10], [50, 50, 10, 10], [5, 0, 10, 10], [50, 50, 10, 10]])
    one = sequence_curves(boxes, gt)  # frames 0 and 2 only: IoU 1 and 50 / 150, centre errors 0 and 5
    assert one.auc == pytest.approx((20 + 7) / (21 * 2))  # 1/3 is above thresholds 0 .. 0.3 (7 of them)
    assert one.precision_20 == 1.0 and one.precision[4] == 0.5
    two = sequence_curves(np.array([[100, 0, 10, 10]] * 3), np.array([[0, 0, 10, 10]] * 3))
    assert two.auc == 0 and two.precision_20 == 0
    both = mean_curves([one, two])
    assert both.auc == pytest.approx(one.auc / 2) and both.precision_20 == 0.5
    with pytest.raises(ValueError, match="no frame with a valid ground-truth box"):
        sequence_curves(boxes[:2], np.full((2, 4), np.nan))


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (64, 48)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(names))
    for name in names:
        cv2.imwrite(str(folder / name), rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def otb_sequence(root: Path, name: str, gt_files: dict[str, str], frames: int) -> None:
    write_images(root / name / "img", [f"{i:04d}.jpg" for i in range(1, frames + 1)])
    for file, text in gt_files.items():
        (root / name / file).write_text(text)


def got_sequence(root: Path, name: str, gt_text: str, frames: int, absence: str | None = None) -> None:
    write_images(root / name, [f"{i:08d}.jpg" for i in range(1, frames + 1)])
    (root / name / "groundtruth.txt").write_text(gt_text)
    if absence is not None:
        (root / name / "absence.label").write_text(absence)


def test_otb_layout_is_read_one_based_with_any_separator(tmp_path):
    otb_sequence(tmp_path, "Commas", {"groundtruth_rect.txt": "11,21,30,40\n12,22,30,41\n13,23,31,40\n"}, 3)
    otb_sequence(tmp_path, "Tabs", {"groundtruth_rect.txt": "1\t1\t5\t6\n2\t3\t5\t6\n"}, 2)
    otb_sequence(tmp_path, "Spaces", {"groundtruth_rect.txt": "5  6 7 8 \n  6 7 8 9\n"}, 2)
    otb_sequence(tmp_path, "Jogging", {"groundtruth_rect.1.txt": "1,1,4,4\n2,2,4,4\n",
                                       "groundtruth_rect.2.txt": "9,9,3,3\n8,8,3,3\n"}, 2)
    otb_sequence(tmp_path, "Human4", {"groundtruth_rect.1.txt": "\n", "groundtruth_rect.2.txt": "3,4,5,6\n"}, 1)
    otb_sequence(tmp_path, "Short", {"groundtruth_rect.txt": "1,1,4,4\n"}, 3)
    sequences, skipped = find_sequences(tmp_path)
    by_name = {s.name: s for s in sequences}
    assert sorted(by_name) == ["Commas", "Human4", "Jogging.1", "Jogging.2", "Spaces", "Tabs"]
    np.testing.assert_array_equal(by_name["Commas"].gt, [[10, 20, 30, 40], [11, 21, 30, 41], [12, 22, 31, 40]])
    np.testing.assert_array_equal(by_name["Tabs"].gt, [[0, 0, 5, 6], [1, 2, 5, 6]])
    np.testing.assert_array_equal(by_name["Spaces"].gt, [[4, 5, 7, 8], [5, 6, 8, 9]])
    np.testing.assert_array_equal(by_name["Jogging.2"].gt, [[8, 8, 3, 3], [7, 7, 3, 3]])
    np.testing.assert_array_equal(by_name["Human4"].gt, [[2, 3, 5, 6]])
    assert [p.name for p in by_name["Commas"].frames] == ["0001.jpg", "0002.jpg", "0003.jpg"]
    assert all(s.benchmark == "otb2015" for s in sequences)
    assert [s.name for s in skipped] == ["Short"] and "the file has 1 lines but" in skipped[0].reason


def test_got10k_val_absence_and_the_test_split_apart(tmp_path):
    got10k_val_tree(tmp_path)
    got_sequence(tmp_path / "test", "GOT-10k_Test_000001", "1,2,3,4\n", 3)
    with pytest.raises(ValueError, match="holding got10k_val and got10k_test; say which with --benchmark"):
        find_sequences(tmp_path)
    sequences, skipped = find_sequences(tmp_path, "got10k_val")
    assert [s.name for s in sequences] == ["GOT-10k_Val_000001", "GOT-10k_Val_000002"] and not skipped
    gt = sequences[0].gt
    np.testing.assert_array_equal(gt[[0, 2]], [[10, 8, 20, 16], [14, 9, 20, 16]])  # 0-based: as written
    assert np.isnan(gt[3]).all() and sequences[0].benchmark == "got10k_val"  # absent, cover 0
    assert sequences[0].cover.tolist() == [8, 8, 5, 0, 8, 3] and sequences[0].resolution == (64, 48)
    assert find_sequences(tmp_path / "val")[0][0].name == "GOT-10k_Val_000001"  # the split folder: recognised
    (test,), _ = find_sequences(tmp_path / "test")  # first box only: tracked, not scored
    assert test.benchmark == "got10k_test" and not test.scored and len(test) == 3
    np.testing.assert_array_equal(test.gt[0], [1, 2, 3, 4])
    assert np.isnan(test.gt[1:]).all()


def test_box_file_errors_name_the_line(tmp_path):
    with pytest.raises(BadInput, match=r"gt\.txt, line 2: '1,2,3' is not 4 finite numbers"):
        parse_box("1,2,3", tmp_path / "gt.txt", 2)
    (tmp_path / "gt.txt").write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match="not a dataset layout siamfc knows"):
        find_sequences(tmp_path)


def unbroken(frames: dict[int, object]) -> int:
    n = 0
    while min(frames) + n in frames:
        n += 1
    return n


def test_vid_val_snippets_one_track_each(tmp_path):
    root = tmp_path / "ILSVRC2015"
    objects = generate(root, SynthConfig(train_snippets=1, val_snippets=3, frames=16, sizes=((320, 240),)))
    sequences, skipped = find_sequences(root)
    assert not skipped
    val = sorted({o.snippet for o in objects if o.snippet.startswith("val/")})
    assert [s.name for s in sequences] == val  # the train snippet is not used
    for seq in sequences:
        objs = [o for o in objects if o.snippet == seq.name]
        frames = {}
        for o in objs:
            frames.setdefault(o.track, {})[o.frame] = o.box
        track = sorted(frames, key=lambda t: (min(frames[t]), -unbroken(frames[t]), t))[0]
        first, last = min(frames[track]), max(frames[track])
        assert seq.target == f"track {track}" and seq.benchmark == "vid_val"
        assert [p.name for p in seq.frames] == [f"{i:06d}.JPEG" for i in range(first, last + 1)]
        for i in range(first, last + 1):
            if i in frames[track]:
                xmin, ymin, xmax, ymax = frames[track][i]
                np.testing.assert_array_equal(seq.gt[i - first], [xmin, ymin, xmax - xmin + 1, ymax - ymin + 1])
            else:
                assert np.isnan(seq.gt[i - first]).all()
    assert any(np.isnan(s.gt).any() for s in sequences)  # the snippet whose track leaves the view and returns


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


@pytest.mark.slow
def test_cli_eval_writes_json_boxes_and_plots(tmp_path):
    data = tmp_path / "data"
    otb_sequence(data, "Otb", {"groundtruth_rect.txt": "21,11,24,20\n23,12,24,20\n25,14,22,20\n26,15,22,21\n"}, 4)
    otb_sequence(data, "Got", {"groundtruth_rect.txt": "11,9,20,16\n13,9,20,16\nNaN,NaN,NaN,NaN\n16,10,20,17\n"},
                 4)  # a frame without a box: OTB's toolkit counts it as a failure
    otb_sequence(data, "Broken", {"groundtruth_rect.txt": "1,1,4,4\n"}, 2)
    torch.manual_seed(0)
    torch.save(SiamFCNet().state_dict(), tmp_path / "w.pt")
    out = tmp_path / "eval"
    assert main(["eval", "--dataset", str(data), "--weights", str(tmp_path / "w.pt"), "--out", str(out),
                 "--name", "run1", "--device", "cpu", "--no-progress"]) == 0
    report = json.loads((out / "run1.json").read_text())
    assert report["sequences"] == 2 and report["frames"] == 8 and report["fps"] > 0
    assert report["weights_format"] == "siamfc" and report["tracker"]["scales"] == 3
    assert [s["name"] for s in report["skipped"]] == ["Broken"]
    gts = {"Otb": np.array([[20, 10, 24, 20], [22, 11, 24, 20], [24, 13, 22, 20], [25, 14, 22, 21]]),
           "Got": np.array([[10, 8, 20, 16], [12, 8, 20, 16], [np.nan] * 4, [15, 9, 20, 17]])}
    aucs, precisions = [], []
    for name, gt in gts.items():
        boxes = np.loadtxt(out / "run1" / f"{name}.txt", delimiter=",")
        assert boxes.shape == (4, 4)
        np.testing.assert_allclose(boxes[0], gt[0], atol=1e-3)
        keep = [i for i in range(4) if not np.isnan(gt[i]).any()]
        ious = np.array([iou(boxes[i], gt[i]) for i in keep])
        errors = np.array([np.hypot(*(boxes[i, :2] + boxes[i, 2:] / 2 - gt[i, :2] - gt[i, 2:] / 2)) for i in keep])
        aucs.append(np.mean([np.sum(ious > t) / 4 for t in np.arange(21) / 20]))  # over all 4 frames
        precisions.append(np.sum(errors <= 20) / 4)
        assert report["per_sequence"][name]["auc"] == pytest.approx(aucs[-1])
    assert report["auc"] == pytest.approx(np.mean(aucs)) and report["precision_20"] == pytest.approx(
        np.mean(precisions))
    plot = cv2.imread(str(out / "run1.png"))
    assert plot is not None and plot.shape[1] > 2 * plot.shape[0]  # three panels side by side
    (out / "run2.json").write_text(json.dumps({**report, "name": "run2", "auc": 0.5}))
    assert main(["eval", "--compare", str(out / "run1.json"), str(out / "run2.json"), "--out", str(out),
                 "--name", "both"]) == 0
    assert cv2.imread(str(out / "both.png")) is not None
    assert main(["eval", "--compare", str(out / "run1.png"), "--out", str(out)]) == 2
    assert report["benchmark"] == "otb2015" and report["not_visible"] == "fail"


class ToolkitStyleTracker:
    """A tracker written against the got10k toolkit's interface only (its base class's ``track``: PIL images,
    enumerate over the files): it moves its box 2 px right per frame."""

    name, is_deterministic = "toolkit-style", True

    def init(self, image, box) -> None:
        self.box = np.array(box, dtype=float)

    def update(self, image) -> np.ndarray:
        self.box[0] += 2
        return self.box.copy()

    def track(self, img_files, box, visualize=False):
        boxes, times = np.zeros((len(img_files), 4)), np.zeros(len(img_files))
        for f, img_file in enumerate(img_files):
            image = Image.open(img_file).convert("RGB")
            if f == 0:
                self.init(image, box)
                boxes[f] = box
            else:
                boxes[f] = self.update(image)
        return boxes, times


def test_evaluation_runs_any_toolkit_style_tracker_through_its_own_track(tmp_path):
    otb_sequence(tmp_path, "Walk", {"groundtruth_rect.txt": "11,11,10,10\n13,11,10,10\n15,11,10,10\n"}, 3)
    sequences, _ = find_sequences(tmp_path)
    report = evaluate(ToolkitStyleTracker(), sequences, "toolkit", progress=False)
    (result,) = report.results
    np.testing.assert_allclose(result.boxes, [[10, 10, 10, 10], [12, 10, 10, 10], [14, 10, 10, 10]])
    assert report.curves.auc == pytest.approx(20 / 21)  # exact boxes: IoU 1 clears every threshold but 1.0


def got10k_val_tree(root: Path) -> dict[str, dict]:
    """A GOT-10k ``val`` tree as the toolkit reads it: 2 sequences of 6 frames (64x48), with cover, absence,
    cut_by_image labels and meta_info.ini; one frame per sequence not visible (cover 0, absent)."""
    seqs = {
        "GOT-10k_Val_000001": {"gt": [[10, 8, 20, 16], [12, 8, 20, 16], [14, 9, 20, 16], [16, 9, 20, 16],
                                      [18, 10, 20, 16], [40, 30, 30, 20]], "cover": [8, 8, 5, 0, 8, 3]},
        "GOT-10k_Val_000002": {"gt": [[30, 20, 10, 10], [31, 20, 10, 10], [32, 21, 10, 10], [0, 0, 12, 12],
                                      [33, 22, 10, 10], [34, 22, 10, 10]], "cover": [8, 0, 8, 8, 8, 8]},
    }
    (root / "val").mkdir(parents=True)
    (root / "val" / "list.txt").write_text("\n".join(seqs) + "\n")
    for name, s in seqs.items():
        folder = root / "val" / name
        write_images(folder, [f"{i:08d}.jpg" for i in range(1, 7)])
        (folder / "groundtruth.txt").write_text("\n".join(",".join(str(v) for v in b) for b in s["gt"]) + "\n")
        (folder / "cover.label").write_text("\n".join(str(c) for c in s["cover"]) + "\n")
        (folder / "absence.label").write_text("\n".join(str(int(c == 0)) for c in s["cover"]) + "\n")
        (folder / "cut_by_image.label").write_text("0\n" * 6)
        (folder / "meta_info.ini").write_text("[METAINFO]\nobject_class: dog\nresolution: (64, 48)\n")
    return seqs


class DriftingTracker(ToolkitStyleTracker):
    """Moves 3 px right and grows 2 px a frame: overlaps fall, and the box leaves the 64-pixel-wide frame."""

    def update(self, image) -> np.ndarray:
        self.box += [3, 0, 2, 2]
        return self.box.copy()


def test_got10k_figures_follow_the_toolkit_rules(tmp_path):
    seqs = got10k_val_tree(tmp_path / "GOT-10k")
    sequences, _ = find_sequences(tmp_path / "GOT-10k" / "val")
    report = evaluate(DriftingTracker(), sequences, "drift", progress=False)
    # the toolkit's rules, written out: frames 1.. with cover > 0; both boxes clipped to the 64x48 frame
    ious = []
    for r in report.results:
        s = seqs[Path(r.sequence.name).name]
        for i in range(1, 6):
            if s["cover"][i] > 0:
                a, b = (np.array(v, dtype=float) for v in (r.boxes[i], s["gt"][i]))
                for box in (a, b):
                    box[0], box[1] = np.clip(box[0], 0, 64), np.clip(box[1], 0, 48)
                    box[2], box[3] = np.clip(box[2], 0, 64 - box[0]), np.clip(box[3], 0, 48 - box[1])
                ious.append(iou(a, b))
    got = report.got10k
    assert got["sequences"] == 2 and got["ao"] == pytest.approx(np.mean(ious))
    assert got["sr50"] == pytest.approx(np.mean(np.array(ious) > 0.5))
    assert got["sr75"] == pytest.approx(np.mean(np.array(ious) > 0.75))
    assert report.summary()["got10k"] == got and any(line.startswith("  GOT-10k") for line in report.lines())

    results = write_toolkit_results(report, tmp_path / "results") / "GOT-10k" / "drift"
    for name in seqs:
        assert (results / name / f"{name}_001.txt").is_file() and (results / name / f"{name}_time.txt").is_file()
    experiments = pytest.importorskip("got10k.experiments")
    toolkit = experiments.ExperimentGOT10k(str(tmp_path / "GOT-10k"), subset="val",
                                           result_dir=str(tmp_path / "results"), report_dir=str(tmp_path / "reports"))
    overall = toolkit.report(["drift"])["drift"]["overall"]
    assert overall["ao"] == pytest.approx(got["ao"]) and overall["sr"] == pytest.approx(got["sr50"])
    assert overall["succ_curve"][75] == pytest.approx(got["sr75"])


def test_otb_results_go_back_to_one_based_pixels_in_the_toolkit_layout(tmp_path):
    otb_sequence(tmp_path / "otb", "Walk", {"groundtruth_rect.txt": "11,11,10,10\n13,11,10,10\n15,11,10,10\n"}, 3)
    sequences, _ = find_sequences(tmp_path / "otb")
    report = evaluate(ToolkitStyleTracker(), sequences, "toolkit", progress=False)
    results = write_toolkit_results(report, tmp_path / "results") / "OTB2015" / "toolkit"
    np.testing.assert_allclose(np.loadtxt(results / "Walk.txt", delimiter=","),
                               [[11, 11, 10, 10], [13, 11, 10, 10], [15, 11, 10, 10]])
    assert np.loadtxt(results / "times" / "Walk_time.txt").shape == (3,)
