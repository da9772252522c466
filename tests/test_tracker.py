"""The SiamFC tracker: response-to-frame mapping, scale choice, tracking a synthetic target, weights, `siamfc track`.

Tracking test design: an untrained AlexNet cannot track, training one in a test takes minutes on two slow
cores, and hand-set AlexNet weights are fragile. So the real ``SiamFCNet`` (its correlation head, 0.001 scale
and bias included) gets its backbone replaced by :class:`FixedFeatures`, a parameter-free extractor with the
AlexNet's geometry: stride 8, output ``(n - 87) / 8 + 1`` cells (6 for 127, 22 for 255) and cell ``j``
centred on input pixel ``43 + 8 j``. Each cell holds the mean colour (minus grey) of 5x5 small windows around
its centre, a coarse picture of the neighbourhood, so correlation is template matching. Everything else is
the tracker under test: crops, batching, upsampling, penalties, window, mapping, scale update.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from siamfc.model.checkpoint import save_weights
from siamfc.model.inference import TorchEngine
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import (
    SiamFCTracker,
    TrackerConfig,
    choose_scale,
    hann_window,
    load_tracker,
    scale_factors,
)
from siamfc.model.weights import PUBLIC_FORMATS, convert_state_dict, load_net
from siamfc.pipeline.response_map import ResponseGrid
from siamfc.tools.cli import main

W, H, N = 320, 240, 40
MIN_MEAN_IOU = 0.7  # measured 0.82 (3 scales) and 0.84 (5 scales); not moving at all scores 0.09


class FixedFeatures(nn.Module):
    """Stride-8 features centred on ``43 + 8 j``: mean colour of 9x9 windows at 5x5 offsets 10 px apart."""

    def __init__(self, step: int = 10, window: int = 9, reach: int = 2):
        super().__init__()
        self.offsets = [step * k for k in range(-reach, reach + 1)]
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = (x.shape[-1] - 87) // 8 + 1
        k, h = self.window, self.window // 2
        s = F.pad(((x - 128) / 64).cumsum(-1).cumsum(-2), (1, 0, 1, 0))  # integral image: box sums in O(1)

        def at(r: int, c: int) -> torch.Tensor:
            return s[:, :, r:r + 8 * n:8, c:c + 8 * n:8][:, :, :n, :n]

        cells = [(43 + oy - h, 43 + ox - h) for oy in self.offsets for ox in self.offsets]
        return torch.cat([(at(r + k, c + k) - at(r, c + k) - at(r + k, c) + at(r, c)) / (k * k)
                          for r, c in cells], dim=1)


def synthetic_sequence(n: int = N) -> tuple[list[np.ndarray], np.ndarray]:
    """A ring-and-checker target moving 140 px right and 70 px down while growing 1.5x, on a smooth background.

    Returns BGR frames and the exact ``x, y, w, h`` boxes (0-based: pixel ``i`` is inside when
    ``|i - cx| < w / 2``).
    """
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    bg = 128 + 18 * np.sin(xx / 37 + 0.5) * np.cos(yy / 29) + 10 * np.sin((xx + yy) / 53)
    bg = np.repeat(bg[..., None], 3, axis=2) + np.array([5, -3, 0], np.float32)
    frames, boxes = [], []
    for t in range(n):
        a = t / (n - 1)
        cx, cy, scale = 90 + 140 * a + 10 * np.sin(6 * a), 80 + 70 * a, 1 + 0.5 * a
        w, h = 44 * scale, 34 * scale
        u, v = (xx - cx) / w, (yy - cy) / h
        inside = (np.abs(u) < 0.5) & (np.abs(v) < 0.5)
        pattern = (np.cos(8 * np.pi * np.hypot(u, v)) > 0) ^ ((np.floor(4 * u) + np.floor(4 * v)) % 2 == 0)
        image = bg.copy()
        image[inside & pattern] = (40, 60, 230)
        image[inside & ~pattern] = (230, 200, 30)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
        boxes.append([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])
    return frames, np.array(boxes)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain IoU, written out again here so the test does not lean on the package's metrics."""
    out = []
    for p, q in zip(a, b, strict=True):
        ix = max(0.0, min(p[0] + p[2], q[0] + q[2]) - max(p[0], q[0]))
        iy = max(0.0, min(p[1] + p[3], q[1] + q[3]) - max(p[1], q[1]))
        out.append(ix * iy / (p[2] * p[3] + q[2] * q[3] - ix * iy))
    return np.array(out)


@pytest.fixture(scope="module")
def sequence_dir(tmp_path_factory) -> tuple[Path, list[Path], np.ndarray]:
    """The synthetic sequence as lossless PNG frames."""
    folder = tmp_path_factory.mktemp("synthetic_seq")
    frames, boxes = synthetic_sequence()
    paths = [folder / f"{i:04d}.png" for i in range(len(frames))]
    for p, f in zip(paths, frames, strict=True):
        cv2.imwrite(str(p), f)
    return folder, paths, boxes


def fixed_feature_net() -> SiamFCNet:
    net = SiamFCNet()
    net.backbone = FixedFeatures()
    return net


def tracker_on(net: nn.Module, config: TrackerConfig | None = None) -> SiamFCTracker:
    """A CPU tracker on a stand-in network with SiamFC's 17x17 map at stride 8."""
    return SiamFCTracker(TorchEngine(net, "cpu", ResponseGrid(17, 8)), config)


@pytest.mark.slow
@pytest.mark.parametrize("scales", [3, 5])
def test_tracker_follows_a_moving_scaling_target(sequence_dir, scales):
    _, paths, gt = sequence_dir
    tracker = tracker_on(fixed_feature_net(), TrackerConfig(scales=scales))
    boxes, times = tracker.track(paths, gt[0])
    assert boxes.shape == (N, 4) and times.shape == (N,) and np.all(times > 0)
    np.testing.assert_array_equal(boxes[0], gt[0])
    overlap = iou(boxes, gt)
    assert overlap.mean() > MIN_MEAN_IOU, overlap.round(2)
    # the target grew 1.5x: the scale update must follow it (without it the ratio stays 1.0)
    assert 1.2 < boxes[-1, 2] / boxes[0, 2] < 1.7
    assert abs(boxes[-1, 2] / boxes[-1, 3] - gt[0, 2] / gt[0, 3]) < 1e-9  # aspect ratio kept


def test_pil_images_give_the_same_boxes_as_bgr_arrays():
    frames, gt = synthetic_sequence(6)
    a = tracker_on(fixed_feature_net())
    b = tracker_on(fixed_feature_net())
    a.init(frames[0], gt[0])
    b.init(Image.fromarray(frames[0][:, :, ::-1].copy()), gt[0])
    for f in frames[1:]:
        np.testing.assert_allclose(a.update(f), b.update(Image.fromarray(f[:, :, ::-1].copy())))


class PresetHead(nn.Module):
    """A head returning a fixed response pyramid, whatever the features."""

    def __init__(self, responses: np.ndarray):
        super().__init__()
        self.responses = torch.from_numpy(responses.astype(np.float32))[:, None]

    def forward(self, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        assert zf.shape[0] == 1 and xf.shape[0] == len(self.responses)
        return self.responses


class PresetNet(nn.Module):
    def __init__(self, responses: np.ndarray):
        super().__init__()
        self.backbone = nn.AdaptiveAvgPool2d(1)
        self.head = PresetHead(responses)


@pytest.mark.parametrize("scales", [3, 5])
# cells off the border: there bicubic interpolation against the replicated edge overshoots past the last cell
@pytest.mark.parametrize("cell", [(8, 8), (3, 12), (15, 1), (1, 15)])
def test_response_peak_maps_to_frame_displacement(scales, cell):
    image = np.full((480, 640, 3), 100, np.uint8)
    box = np.array([300.0, 200.0, 40.0, 60.0])  # centre (319.5, 229.5)
    s_z = np.sqrt((40 + 50) * (60 + 50))  # context 0.5 * (w + h) = 50
    s_x = s_z * 255 / 127
    factors = 1.0375 ** np.arange(-(scales // 2), scales // 2 + 1)
    for k, f in enumerate(factors):
        responses = np.zeros((scales, 17, 17))
        responses[k][cell] = 1.0
        config = TrackerConfig(scales=scales, window_influence=0.0, scale_penalty=1.0)
        tracker = tracker_on(PresetNet(responses), config)
        tracker.init(image, box)
        x, y, w, h = tracker.update(image)
        frame_per_crop = s_x * f / 255
        row, col = cell
        damp = 0.41 + 0.59 * f
        assert (w, h) == pytest.approx((40 * damp, 60 * damp), rel=1e-12)
        centre = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        expected = np.array([319.5 + (col - 8) * 8 * frame_per_crop, 229.5 + (row - 8) * 8 * frame_per_crop])
        # the 272-wide map has no centre pixel: a cell's peak is shared by two pixels, 1/32 cell apart
        np.testing.assert_allclose(centre, expected, atol=0.25 * frame_per_crop + 1e-9)


@pytest.mark.parametrize(("gain", "grows"), [(1.02, False), (1.03, True)])
def test_tracker_penalises_non_central_scales(gain, grows):
    responses = np.zeros((3, 17, 17))
    responses[1, 8, 8] = 1.0
    responses[2, 8, 8] = gain  # larger scale: wins only if gain * 0.9745 > 1
    tracker = tracker_on(PresetNet(responses))
    tracker.init(np.zeros((100, 100, 3), np.uint8), [40, 40, 20, 20])
    w = tracker.update(np.zeros((100, 100, 3), np.uint8))[2]
    assert w == pytest.approx(20 * (0.41 + 0.59 * 1.0375) if grows else 20.0)


def test_scale_penalty_and_factors():
    np.testing.assert_allclose(scale_factors(TrackerConfig(scales=5)), [1.0375 ** k for k in (-2, -1, 0, 1, 2)])
    maps = np.ones((3, 4, 4))
    assert choose_scale(maps, 0.9745) == 1  # equal peaks: the central scale
    maps[2] *= 1.02  # 1.02 * 0.9745 < 1: still central
    assert choose_scale(maps, 0.9745) == 1
    maps[0] *= 1.03  # 1.03 * 0.9745 > 1 and > 1.02 * 0.9745
    assert choose_scale(maps, 0.9745) == 0
    window = hann_window(272)
    assert window.sum() == pytest.approx(1.0) and window[0, 0] == 0.0 and window.argmax() == 135 * 272 + 135
    with pytest.raises(ValueError, match="odd"):
        TrackerConfig(scales=4)


def public_huang(state: dict) -> dict:
    """Our weights as huanglianghua/siamfc-pytorch would store them: conv5 inside a Sequential, no head
    parameter, a first convolution reading RGB."""
    out = {}
    for key, value in state.items():
        if key == "head.bias":
            continue
        key = key.replace("backbone.conv5.", "backbone.conv5.0.")
        out[key] = value.flip(1) if key == "backbone.conv1.0.weight" else value
    return out


def public_stranger(state: dict) -> dict:
    """... and as StrangerZhang/SiamFC-PyTorch (features.N, corr_bias, RGB input)."""
    index = {"conv1.0": 0, "conv1.1": 1, "conv2.0": 4, "conv2.1": 5, "conv3.0": 8, "conv3.1": 9, "conv4.0": 11,
             "conv4.1": 12, "conv5": 14}
    out = {"corr_bias": state["head.bias"]}
    for key, value in state.items():
        for ours, i in index.items():
            if key.startswith(f"backbone.{ours}."):
                name = f"features.{i}.{key[len(f'backbone.{ours}.'):]}"
                out[name] = value.flip(1) if name == "features.0.weight" else value
    return out


def randomised_net(seed: int) -> SiamFCNet:
    torch.manual_seed(seed)
    net = SiamFCNet()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.dtype.is_floating_point:
                t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t) * 0.05)
    return net.eval()


@pytest.mark.slow
@pytest.mark.parametrize("form", ["exported", "checkpoint", "huanglianghua", "stranger"])
def test_weights_load_ours_and_public_layouts(tmp_path, form):
    ref = randomised_net(1)
    state = ref.state_dict()
    if form == "huanglianghua":
        with torch.no_grad():
            ref.head.bias.zero_()  # that implementation has no bias
        state = public_huang(ref.state_dict())
    elif form == "stranger":
        state = {f"module.{k}": v for k, v in public_stranger(state).items()}  # saved from DataParallel
    elif form == "checkpoint":
        state = {"model": state, "optimizer": {}, "scheduler": {}, "epoch": 3}
    torch.save(state, tmp_path / "w.pt")
    expected = {"exported": "siamfc", "checkpoint": "siamfc", "huanglianghua": "huanglianghua/siamfc-pytorch",
                "stranger": "StrangerZhang/SiamFC-PyTorch"}[form]
    net, fmt = load_net(tmp_path / "w.pt")
    assert fmt == expected and net.architecture == {"backbone": "alexnet", "out_scale": 0.001}
    tracker = load_tracker(tmp_path / "w.pt", device="cpu")
    assert tracker.info["weights_format"] == expected
    tracker_net = tracker.engine.net
    assert all(torch.equal(a, b) for a, b in zip(tracker_net.state_dict().values(), net.state_dict().values(),
                                                 strict=True))
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
    with torch.inference_mode():
        np.testing.assert_allclose(net(z.expand(2, -1, -1, -1), x), ref(z.expand(2, -1, -1, -1), x), rtol=1e-5,
                                   atol=1e-6)
        if form in ("huanglianghua", "stranger"):  # the public net, fed RGB, scores what ours scores on BGR
            public = randomised_net(2)
            public.load_state_dict({**ref.state_dict(), "backbone.conv1.0.weight":
                                    ref.state_dict()["backbone.conv1.0.weight"].flip(1)})
            np.testing.assert_allclose(public(z.flip(1), x.flip(1)), net(z, x), rtol=1e-4, atol=1e-5)


def test_weights_refuse_other_shapes_and_layouts():
    reference = SiamFCNet().state_dict()
    narrow = public_huang(reference)
    narrow["backbone.conv5.0.weight"] = torch.zeros(32, 192, 3, 3)
    narrow["backbone.conv5.0.bias"] = torch.zeros(32)
    with pytest.raises(ValueError, match=r"backbone\.conv5\.weight is \[32, 192, 3, 3\]"):
        convert_state_dict(narrow, reference, "narrow.pth")
    with pytest.raises(ValueError, match="unknown state dict layout"):
        convert_state_dict({"fully_conv.0.weight": torch.zeros(96, 3, 11, 11)}, reference, "x.pth")
    partial = public_huang(reference)
    del partial["backbone.conv3.0.weight"]
    with pytest.raises(ValueError, match="lacks backbone.conv3.0.weight"):
        convert_state_dict(partial, reference, "partial.pth")
    assert set(PUBLIC_FORMATS) == {"huanglianghua/siamfc-pytorch", "StrangerZhang/SiamFC-PyTorch"}


def test_weights_record_their_architecture_and_loading_builds_it(tmp_path):
    ref = randomised_net(3)
    ref.architecture = {**ref.architecture, "out_scale": 0.002}  # a network the default would not build
    ref.head.out_scale = 0.002
    path = save_weights(tmp_path / "weights.pt", ref)
    assert torch.load(path, weights_only=True)["architecture"] == {"backbone": "alexnet", "out_scale": 0.002}
    net, fmt = load_net(path)
    assert fmt == "siamfc" and net.head.out_scale == 0.002
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255
    with torch.inference_mode():
        assert torch.equal(net(z, x), ref(z, x))
    torch.save({"architecture": {"backbone": "resnet22"}, "state_dict": ref.state_dict()}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other\.pt: unknown backbone 'resnet22'; known: alexnet"):
        load_net(tmp_path / "other.pt")


@pytest.mark.slow
def test_cli_track_writes_boxes_and_video(tmp_path, sequence_dir):
    folder, paths, gt = sequence_dir
    frames = tmp_path / "frames"
    frames.mkdir()
    for p in paths[:4]:
        (frames / p.name).write_bytes(p.read_bytes())
    torch.save(SiamFCNet().state_dict(), tmp_path / "weights.pt")
    init = ",".join(f"{v:.3f}" for v in gt[0])
    out, video = tmp_path / "boxes.txt", tmp_path / "out.mp4"
    args = ["track", "--weights", str(tmp_path / "weights.pt"), "--frames", str(frames), "--init", init,
            "--out", str(out), "--device", "cpu"]
    assert main(args + ["--video", str(video)]) == 0
    boxes = np.loadtxt(out, delimiter=",")
    assert boxes.shape == (4, 4)
    np.testing.assert_allclose(boxes[0], gt[0], atol=1e-3)
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    ok, first = capture.read()
    assert ok and first.shape == (H, W, 3)
    assert main(args + ["--video", str(tmp_path / "drawn"), "--scales", "5"]) == 0
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == [f"{i:06d}.jpg" for i in range(4)]
    assert main(args[:-4] + ["--init", "1,2,3"]) == 2
