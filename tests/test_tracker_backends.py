"""The tracker's backends give the boxes of the float32 PyTorch path (int8: its success AUC within 0.01); the
benchmark's reference agrees with ours.

The network is the real AlexNet SiamFCNet with template-matching weights (random weights give flat responses,
whose peak float rounding may move on any backend), tracking a patch of a panned textured scene: the boxes need
not follow the patch exactly, they must be the same on every backend. The restated siamfc-pytorch procedure (the
reference of `siamfc bench track`) is compared with our tracker on test_tracker's fixed template-matching
features, where both follow the target.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from test_tracker import fixed_feature_net, iou, synthetic_sequence, tracker_on

from siamfc.curate.boxes import xywh_to_cxcywh
from siamfc.model.checkpoint import save_weights
from siamfc.model.tracker import load_tracker
from siamfc.pipeline.response_map import ResponseGrid
from siamfc.tools.reference_tracker import ReferenceTracker
from siamfc.tools.synthetic import template_matching_net

pytest.importorskip("onnxruntime")
FRAMES = 12


def centres(boxes: np.ndarray) -> np.ndarray:
    return np.array([xywh_to_cxcywh(b)[:2] for b in boxes])


def run(tracker, frames: list[np.ndarray], box: np.ndarray) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([box] + [tracker.update(f) for f in frames[1:]])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_weights(tmp_path_factory.mktemp("w") / "weights.pt", template_matching_net())


@pytest.mark.slow
def test_onnxruntime_responses_equal_torch_responses(weights):
    torch_engine = load_tracker(weights, device="cpu").engine
    onnx_engine = load_tracker(weights, backend="onnxruntime").engine
    rng = np.random.default_rng(0)
    z = rng.integers(0, 256, (127, 127, 3), dtype=np.uint8)
    x = rng.integers(0, 256, (3, 255, 255, 3), dtype=np.uint8)
    for engine in (torch_engine, onnx_engine):
        engine.set_exemplar(z)
    a, b = torch_engine.responses(x), onnx_engine.responses(x)
    assert a.shape == b.shape == (3, 17, 17)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * np.abs(a).max())


def panning_sequence(n: int = FRAMES) -> tuple[list[np.ndarray], np.ndarray]:
    """A textured scene panned 6 px right and 4 px down per frame, and the box of one patch of it."""
    rng = np.random.default_rng(1)
    scene = cv2.resize(rng.uniform(0, 255, (60, 80, 3)).astype(np.float32), (800, 600), interpolation=cv2.INTER_CUBIC)
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    frames = [np.ascontiguousarray(scene[100 - 4 * t:400 - 4 * t, 150 - 6 * t:550 - 6 * t]) for t in range(n)]
    return frames, np.array([[170.0 + 6 * t, 120.0 + 4 * t, 60.0, 50.0] for t in range(n)])


@pytest.mark.slow
def test_onnxruntime_tracks_with_the_boxes_of_the_float32_torch_path(weights):
    frames, gt = panning_sequence()
    fp32 = run(load_tracker(weights, device="cpu"), frames, gt[0])
    onnx = run(load_tracker(weights, backend="onnxruntime"), frames, gt[0])
    assert iou(fp32, gt).mean() > 0.5  # the boxes follow the patch: the comparison is not of idle trackers
    assert np.max(np.hypot(*(centres(onnx) - centres(fp32)).T)) <= 1.0
    np.testing.assert_allclose(onnx[:, 2:], fp32[:, 2:], rtol=1e-3)


def success_auc(boxes: np.ndarray, gt: np.ndarray) -> float:
    """OTB's success AUC, written out: the share of frames with IoU above t, averaged over t = 0, 0.05, ..., 1."""
    overlaps = iou(boxes, gt)
    return float(np.mean([(overlaps > t).mean() for t in np.linspace(0, 1, 21)]))


@pytest.mark.slow
@pytest.mark.parametrize("sequence", [panning_sequence, synthetic_sequence])
def test_int8_keeps_the_success_auc_of_the_float32_torch_path(weights, sequence):
    frames, gt = sequence(FRAMES * 2)
    fp32 = run(load_tracker(weights, device="cpu"), frames, gt[0])
    int8 = run(load_tracker(weights, backend="onnxruntime-int8"), frames, gt[0])
    assert success_auc(fp32, gt) > 0.3  # it tracks: a lost tracker would agree with anything
    assert abs(success_auc(int8, gt) - success_auc(fp32, gt)) <= 0.01
    assert iou(int8, fp32).mean() > 0.85  # and it tracks the same way, not by chance to the same score


def test_tracker_info_says_what_runs(weights):
    tracker = load_tracker(weights, backend="onnxruntime", name="x")
    assert tracker.info["backend"] == "onnxruntime" and tracker.info["weights_format"] == "siamfc"
    with pytest.raises(ValueError, match="runs on the CPU"):
        load_tracker(weights, device="cuda", backend="onnxruntime")
    with pytest.raises(ValueError, match="unknown backend 'tvm'"):
        load_tracker(weights, backend="tvm")


class StandIn(torch.nn.Module):
    """test_tracker's template-matching network, with the description the reference reads (17x17, stride 8)."""

    total_stride = 8

    def __init__(self):
        super().__init__()
        net = fixed_feature_net()
        self.backbone, self.head = net.backbone, net.head

    def response_grid(self) -> ResponseGrid:
        return ResponseGrid(17, 8)


@pytest.mark.slow
def test_the_benchmark_reference_follows_the_target_like_our_tracker():
    frames, gt = synthetic_sequence(40)
    ours = run(tracker_on(fixed_feature_net()), frames, gt[0])
    theirs = run(ReferenceTracker(StandIn()), frames, gt[0])
    assert iou(ours, gt).mean() > 0.7 and iou(theirs, gt).mean() > 0.7
    # crops cut at whole pixels (theirs) or resampled exactly (ours): the centres stay within a pixel or two
    assert np.median(np.hypot(*(centres(theirs) - centres(ours)).T)) < 2.0
