"""The SiamFC network, head, loss and checkpoint files, against independent computations (no training here)."""

from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from siamfc.model.checkpoint import (
    CHECKPOINT_FILE,
    load_checkpoint,
    load_weights,
    rng_state,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from siamfc.model.head import XCorrHead, response_peaks, xcorr
from siamfc.model.loss import logistic_loss, pair_losses
from siamfc.model.net import SiamFCNet
from siamfc.pipeline.labels import score_labels

# The layer list: (in, out, kernel, stride, groups, batch norm after it, max pool after it).
ALEXNET = [(3, 96, 11, 2, 1, True, True), (96, 256, 5, 1, 2, True, True), (256, 384, 3, 1, 1, True, False),
           (384, 384, 3, 1, 2, True, False), (384, 256, 3, 1, 2, False, False)]


@pytest.fixture(scope="module")
def net() -> SiamFCNet:
    torch.manual_seed(0)
    return SiamFCNet().eval()


def test_layers_are_siamfc_alexnet(net: SiamFCNet) -> None:
    layers = list(net.backbone.modules())
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    got = []
    for conv in convs:
        after = layers[layers.index(conv) + 1: layers.index(conv) + 5]
        bn = any(isinstance(m, nn.BatchNorm2d) for m in after[:1])
        relu = bn and isinstance(after[1], nn.ReLU)
        pool = relu and any(isinstance(m, nn.MaxPool2d) and m.kernel_size == 3 and m.stride == 2 for m in after[2:3])
        got.append((conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.stride[0], conv.groups, bn, pool))
        assert conv.padding == (0, 0)
    assert got == ALEXNET


@pytest.mark.slow
def test_output_shapes(net: SiamFCNet) -> None:
    z, x = torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        assert net.backbone(z).shape == (2, 256, 6, 6)
        assert net.backbone(x).shape == (2, 256, 22, 22)
        assert net(z, x).shape == (2, 1, 17, 17)


def brute_xcorr(zf: np.ndarray, xf: np.ndarray) -> np.ndarray:
    """Correlation by explicit sums over every placement: [C, h, w] with [C, H, W] -> [H - h + 1, W - w + 1]."""
    _, h, w = zf.shape
    rows, cols = xf.shape[1] - h + 1, xf.shape[2] - w + 1
    return np.array([[np.sum(zf * xf[:, i:i + h, j:j + w]) for j in range(cols)] for i in range(rows)])


def test_head_correlates_each_pair_and_broadcasts_one_exemplar() -> None:
    g = torch.Generator().manual_seed(1)
    zf, xf = torch.randn(3, 4, 3, 3, generator=g, dtype=torch.float64), torch.randn(3, 4, 7, 7, generator=g,
                                                                                      dtype=torch.float64)
    out = xcorr(zf, xf)
    assert out.shape == (3, 1, 5, 5)
    for b in range(3):
        np.testing.assert_allclose(out[b, 0].numpy(), brute_xcorr(zf[b].numpy(), xf[b].numpy()), rtol=1e-12)
    single = xcorr(zf[1:2], xf)
    for b in range(3):
        np.testing.assert_allclose(single[b, 0].numpy(), brute_xcorr(zf[1].numpy(), xf[b].numpy()), rtol=1e-12)
    with pytest.raises(ValueError, match="2 exemplars for 3"):
        xcorr(zf[:2], xf)

    head = XCorrHead()
    with torch.no_grad():
        head.bias.fill_(0.25)
    np.testing.assert_allclose(head(zf.float(), xf.float()).detach().numpy(),
                               out.float().numpy() * 0.001 + 0.25, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_tracker_usage_matches_the_paired_forward(net: SiamFCNet) -> None:
    """``head(backbone(z) of batch 1, backbone(x) of batch 3)`` == ``net(z repeated, x)``."""
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(3, 3, 255, 255) * 255
    with torch.no_grad():
        once = net.head(net.backbone(z), net.backbone(x))
        paired = net(z.expand(3, -1, -1, -1), x)
    assert once.shape == (3, 1, 17, 17)
    torch.testing.assert_close(once, paired, rtol=1e-4, atol=1e-4)


def test_head_stays_float32_under_autocast(net: SiamFCNet) -> None:
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 143, 143) * 255
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        zf, xf = net.backbone(z), net.backbone(x)
        out = net.head(zf, xf)
    assert zf.dtype == torch.bfloat16 and out.dtype == torch.float32


def test_xavier_initialisation() -> None:
    torch.manual_seed(3)
    model = SiamFCNet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]  # torch's (and Glorot's) weight fans
            bound = math.sqrt(6 / (fan_in + fan_out))
            w = m.weight.detach()
            assert w.abs().max() <= bound and abs(w.std().item() / (bound / math.sqrt(3)) - 1) < 0.05
            assert not m.bias.detach().any()
        elif isinstance(m, nn.BatchNorm2d):
            assert (m.weight == 1).all() and not m.bias.detach().any()
    assert model.head.bias.item() == 0 and model.head.out_scale == 0.001


def test_response_peaks() -> None:
    one_hot = torch.zeros(2, 1, 17, 17)
    one_hot[0, 0, 3, 12] = 1  # row 3, column 12 -> ((12 - 8) * 8, (3 - 8) * 8)
    one_hot[1, 0, 8, 8] = 1
    assert response_peaks(one_hot, 8).tolist() == [[32.0, -40.0], [0.0, 0.0]]
    # A smooth blob at a sub-cell position: upsampling finds it to a fraction of the 8-pixel cell.
    offsets = (np.arange(17) - 8) * 8.0
    dx, dy = 13.0, -21.0
    blob = np.exp(-((offsets[None, :] - dx) ** 2 + (offsets[:, None] - dy) ** 2) / (2 * 16.0 ** 2))
    peak = response_peaks(torch.from_numpy(blob)[None, None].float(), 8, upsample=16)[0]
    assert abs(peak[0] - dx) < 1.0 and abs(peak[1] - dy) < 1.0
    coarse = response_peaks(torch.from_numpy(blob)[None, None].float(), 8)[0]
    assert coarse.tolist() == [16.0, -24.0]  # nearest cell


def bce(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-(y log sigmoid(s) + (1 - y) log(1 - sigmoid(s))), written out."""
    p = 1 / (1 + np.exp(-s.astype(np.float64)))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_loss_is_balanced_bce_and_prefers_the_true_peak() -> None:
    label, weight = score_labels((5.0, -3.0), 17, 8)
    perfect = np.where(label > 0, 4.0, -4.0).astype(np.float32)
    shifted = np.roll(perfect, (3, 2), axis=(0, 1))
    logits = torch.from_numpy(np.stack([perfect, shifted]))[:, None]
    labels, weights = torch.from_numpy(np.stack([label] * 2)), torch.from_numpy(np.stack([weight] * 2))
    losses = pair_losses(logits, labels, weights)
    expected = [np.sum(weight * bce(m, label)) for m in (perfect, shifted)]  # weights sum to 1
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5)
    assert losses[0] < losses[1]
    np.testing.assert_allclose(logistic_loss(logits, labels, weights).item(), np.mean(expected), rtol=1e-5)
    # Positives and negatives weigh half each, whatever their counts: a map right on the 13 positives only
    # still pays half the loss of a map wrong everywhere.
    assert math.isclose(weight[label > 0].sum(), 0.5, rel_tol=1e-6)
    uniform = pair_losses(logits[:1], labels[:1]).item()
    assert math.isclose(uniform, bce(perfect, label).mean(), rel_tol=1e-5)


class FailsHalfway:
    """Pickling it raises once the model tensors before it are already written: a crash mid-save."""

    def __reduce__(self):
        raise RuntimeError("write failed")


def test_checkpoint_round_trip_and_atomic_failure(tmp_path) -> None:
    torch.manual_seed(0)
    model = SiamFCNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    path = tmp_path / CHECKPOINT_FILE
    save_checkpoint(path, model=model.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                    epoch=3, history={"epochs": [{"epoch": 1, "val_loss": 0.5}]})
    state = rng_state()
    expected = (np.random.rand(3), torch.rand(3), random.random())
    set_rng_state(load_checkpoint(path)["rng"])  # the states saved above are the current ones
    assert np.array_equal(np.random.rand(3), expected[0]) and torch.equal(torch.rand(3), expected[1])
    assert random.random() == expected[2]
    set_rng_state(state)

    # A failing write leaves the previous file intact and no temporary file behind.
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="write failed"):
        save_checkpoint(path, model=model.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                        epoch=4, extra=FailsHalfway())
    assert path.read_bytes() == before and os.listdir(tmp_path) == [CHECKPOINT_FILE]

    weights = load_weights(path)  # from a checkpoint
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    exported = save_weights(tmp_path / "weights.pt", model)
    saved = torch.load(exported, weights_only=True)  # plain values, loadable without our code
    assert saved["architecture"] == {"backbone": "alexnet", "out_scale": 0.001}
    plain = saved["state_dict"]
    fresh = SiamFCNet()
    fresh.load_state_dict(plain)
    assert all(torch.equal(plain[k], v) for k, v in fresh.state_dict().items())
    assert load_weights(exported).keys() == plain.keys()

    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="junk.pt"):
        load_weights(tmp_path / "junk.pt")
    torch.save({"epochs": 3}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_weights(tmp_path / "missing.pt")
