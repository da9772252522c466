"""A new backbone is one class and one registry line: registered here (two convolutions, total stride 4, not
AlexNet's 8), it trains for a step through the real training code (``siamfc train --backbone``), its run records
it, and the tracker builds it from its weights. Nothing else names its stride: the labels, the size checks, the
validation and the tracker all take it from the backbone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from siamfc.model.backbone import BACKBONES, Backbone
from siamfc.model.checkpoint import load_checkpoint
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import load_tracker
from siamfc.model.train import train
from siamfc.model.train_config import TrainConfig
from siamfc.model.train_setup import open_pairs
from siamfc.model.weights import load_net
from siamfc.pipeline.ranks import DistInfo
from siamfc.pipeline.response_map import ResponseGrid
from siamfc.pipeline.sampler_config import SamplerConfig
from siamfc.tools.cli import main


class TwoConvBackbone(Backbone):
    """Two 3x3 convolutions of stride 2: one cell per 4 pixels, 7 pixels seen; 127 -> 31 cells, 255 -> 63."""

    name = "two-conv-test"
    total_stride = 4
    receptive_field = 7

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


GRID = ResponseGrid(33, 4)  # (63 - 31) + 1 cells, 4 search-crop pixels apart
TINY = ["--epochs", "2", "--batch-size", "2", "--pairs-per-epoch", "4", "--val-pairs", "2", "--no-progress"]


@pytest.fixture
def registered(monkeypatch) -> str:
    monkeypatch.setitem(BACKBONES, TwoConvBackbone.name, TwoConvBackbone)  # the one registry line
    return TwoConvBackbone.name


def test_the_backbone_describes_the_network(registered) -> None:
    net = SiamFCNet(registered).eval()
    assert net.architecture == {"backbone": registered, "out_scale": 0.001}
    assert net.response_grid() == GRID and net.total_stride == 4
    with torch.no_grad():
        logits = net(torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255)
    assert logits.shape == (2, 1, 33, 33)  # the grid's size is what the network gives
    with pytest.raises(ValueError, match="not tile a 129-pixel exemplar crop: a side must be 7 plus a multiple of 4"):
        net.response_grid(129, 255)


def test_trains_through_the_real_training_code_and_tracks_with_its_weights(registered, curated_jpeg,
                                                                           tmp_path) -> None:
    # the labels of its pairs lie on its own grid (33x33, stride 4), with no stride given anywhere else
    config = TrainConfig(backbone=registered, val_pairs=2, sampler=SamplerConfig(pairs_per_epoch=4))
    train_set, val_set = open_pairs(curated_jpeg, curated_jpeg, config, DistInfo(0, 1, 0))
    assert train_set.grid == val_set.grid == GRID and train_set.pair(0)["label"].shape == (33, 33)

    run = tmp_path / "run"
    assert main(["train", "--data", str(curated_jpeg), "--out", str(run), "--backbone", registered, *TINY,
                 "--stop-after", "1"]) == 0
    assert json.loads((run / "config.json").read_text())["backbone"] == registered
    assert load_checkpoint(run / "checkpoint.pt")["architecture"]["backbone"] == registered
    assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 0  # the recorded backbone, resumed
    history = json.loads((run / "log.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [0, 1, 2]
    assert all(np.isfinite(e["val_centre_error"]) for e in history)

    net, fmt = load_net(run / "weights.pt")
    assert fmt == "siamfc" and isinstance(net.backbone, TwoConvBackbone)
    tracker = load_tracker(run / "weights.pt", device="cpu")
    assert tracker.engine.grid == GRID and tracker.info["architecture"]["backbone"] == registered
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    tracker.init(frames[0], [60, 40, 30, 20])
    boxes = [tracker.update(f) for f in frames[1:]]
    assert all(b.shape == (4,) and np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0 for b in boxes)


def test_weights_of_a_backbone_not_registered_here_are_refused(registered, tmp_path, monkeypatch) -> None:
    from siamfc.model.checkpoint import save_weights

    save_weights(tmp_path / "weights.pt", SiamFCNet(registered))
    monkeypatch.delitem(BACKBONES, registered)
    with pytest.raises(ValueError, match=rf"weights.pt: unknown backbone '{registered}'; known: alexnet"):
        load_net(tmp_path / "weights.pt")


def test_an_unknown_backbone_or_crops_it_does_not_tile_are_refused_before_training(registered, curated_jpeg,
                                                                                   tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", str(curated_jpeg), "--out", str(run), "--backbone", "vgg", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "--backbone: unknown backbone 'vgg'; known: alexnet" in err and "\n" not in err
    sampler = SamplerConfig(pairs_per_epoch=4, exemplar_size=129)  # this backbone's sides are 7 + 4k
    with pytest.raises(ValueError, match=r"SamplerConfig\.exemplar_size must be 7 plus a multiple of 4 for the "
                                         r"two-conv-test network"):
        train(curated_jpeg, run, TrainConfig(backbone=registered, sampler=sampler))
    assert not run.exists()
