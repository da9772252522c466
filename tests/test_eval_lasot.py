"""`siamfc eval` on LaSOT: the benchmark videos read through the LaSOT source, hidden frames not scored, results
written back 1-based in the got10k toolkit's layout and scored as its LaSOT experiment scores them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from siamfc.curate.synth.lasot import generate
from siamfc.model.eval_sequences import find_sequences
from siamfc.model.evaluate import evaluate, write_toolkit_results

TEST_VIDEOS = ["airplane/airplane-2", "cat/cat-1"]  # the default synthetic tree's testing_set.txt


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("lasot-eval") / "LaSOT"
    return root, generate(root)


class DriftingTracker:
    """A got10k-style tracker (reads every frame with PIL) that moves 2 px right and grows 1 px a frame."""

    name = "drift"

    def track(self, img_files, box, visualize=False):
        boxes, times = np.zeros((len(img_files), 4)), np.full(len(img_files), 0.01)
        current = np.array(box, dtype=float)
        for f, img_file in enumerate(img_files):
            Image.open(img_file).convert("RGB")
            if f:
                current += [2, 0, 1, 1]
            boxes[f] = current
        return boxes, times


def test_the_test_split_is_read_with_hidden_frames_unscored(tree):
    root, truth = tree
    sequences, skipped = find_sequences(root)
    assert skipped == [] and [s.name for s in sequences] == TEST_VIDEOS
    for seq in sequences:
        rows = sorted((t for t in truth if t.snippet == f"test/{seq.name}"), key=lambda t: t.frame)
        assert seq.benchmark == "lasot" and seq.one_based
        assert [p.name for p in seq.frames] == [f"{t.frame:08d}.jpg" for t in rows]
        want = np.array([[t.box[0], t.box[1], t.box[2] - t.box[0] + 1, t.box[3] - t.box[1] + 1] if t.visible
                         else [np.nan] * 4 for t in rows])
        np.testing.assert_array_equal(seq.gt, want)
        assert np.isnan(seq.gt).any(axis=1).any()  # both test videos have hidden frames


def _flags(path):
    return np.loadtxt(path, delimiter=",").astype(bool)


def test_results_go_back_one_based_and_score_as_the_toolkits_do(tree, tmp_path):
    root, _ = tree
    experiments = pytest.importorskip("got10k.experiments")
    from got10k.utils.metrics import rect_iou  # the toolkit's own overlap

    sequences, _ = find_sequences(root)
    report = evaluate(DriftingTracker(), sequences, "drift", progress=False)
    results = write_toolkit_results(report, tmp_path / "results") / "LaSOT" / "drift"
    toolkit = object.__new__(experiments.ExperimentOTB)  # its curves, as ExperimentLaSOT inherits them
    toolkit.nbins_iou, toolkit.nbins_ce = 21, 51
    curves, matlab = [], []
    for r in report.results:
        video = root / r.sequence.name
        name = video.name
        boxes = np.loadtxt(results / f"{name}.txt", delimiter=",")
        anno = np.loadtxt(video / "groundtruth.txt", delimiter=",")
        assert np.loadtxt(results / "times" / f"{name}_time.txt").shape == (len(anno),)
        np.testing.assert_array_equal(boxes[0], anno[0])  # the first box is the 1-based ground truth, unchanged
        hidden = _flags(video / "full_occlusion.txt") | _flags(video / "out_of_view.txt")
        # got10k's ExperimentLaSOT.report: first box from the ground truth, rows without NaN scored; the hidden
        # frames' placeholder rows made NaN, as our reader does
        boxes[0] = anno[0]
        anno[hidden] = np.nan
        valid = ~np.isnan(anno).any(axis=1)
        ious = rect_iou(boxes[valid], anno[valid])
        succ, _ = toolkit._calc_curves(ious, np.zeros_like(ious))
        curves.append(succ)
        # LaSOT's MATLAB toolkit: hidden frames removed, successes divided by all frames
        matlab.append((ious[:, None] > np.linspace(0, 1, 21)[None, :]).sum(0) / len(anno))
        np.testing.assert_allclose(matlab[-1], r.curves.success * valid.sum() / len(anno))
    assert report.scored_frames_curves.auc == pytest.approx(np.mean(curves))  # the scored frames only
    assert 0.2 < report.scored_frames_curves.auc < 0.95  # the drift makes the score informative
    assert report.lasot["auc"] == pytest.approx(np.mean(matlab))  # the figure LaSOT papers quote
    assert report.curves.auc == report.lasot["auc"]  # the benchmark's headline figure is its toolkit's
    assert report.lasot["auc"] < report.scored_frames_curves.auc and report.summary()["lasot"] == report.lasot


def test_without_testing_set_every_video_is_evaluated_and_bad_ones_skipped(tree, tmp_path):
    root, _ = tree
    copy = tmp_path / "LaSOT"
    shutil.copytree(root, copy)
    (copy / "testing_set.txt").unlink()
    (copy / "bear" / "bear-1" / "out_of_view.txt").unlink()
    sequences, skipped = find_sequences(copy)
    assert [s.name for s in sequences] == ["airplane/airplane-1", "airplane/airplane-2", "cat/cat-1",
                                           "rubicCube/rubicCube-1"]
    (skip,) = skipped
    assert skip.name == "bear/bear-1" and skip.file == str(copy / "bear" / "bear-1" / "out_of_view.txt")
    assert "no such file" in skip.reason
