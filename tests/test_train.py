"""Training on a real synthetic curation: learning, the run folder, exact resumption, a 2-process gloo run.

The runs are tiny (the CPU does a few pairs per second), so every option that sizes them is set here; the
learning run uses target shifts of up to 32 pixels so that locating the target is not trivial.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from siamfc.model.checkpoint import load_checkpoint, load_weights
from siamfc.model.net import SiamFCNet
from siamfc.model.train import train
from siamfc.model.train_config import TrainConfig
from siamfc.model.train_setup import train_step
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.labels import score_labels
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.sampler_config import SamplerConfig
from siamfc.tools.cli import main

LEARN = ["--epochs", "2", "--pairs-per-epoch", "32", "--val-pairs", "16", "--lr", "0.01", "--lr-final", "0.001",
         "--max-translate", "32", "--log-every", "1", "--no-progress"]
UP = 16  # response upsampling, as the tracker


def peak_errors(net: SiamFCNet, loader) -> np.ndarray:
    """Centre errors of the response peaks, the tracker's way: cv2 bicubic 16x upsampling, then
    ``(peak - (272 - 1) / 2) * 8 / 16`` search-crop pixels from the centre."""
    errors = []
    with torch.no_grad():
        for batch in loader:
            responses = net.eval()(batch["z"].float(), batch["x"].float())[:, 0].numpy()
            for r, target in zip(responses, batch["target"].numpy(), strict=True):
                up = cv2.resize(r, (17 * UP, 17 * UP), interpolation=cv2.INTER_CUBIC)
                row, col = np.unravel_index(np.argmax(up), up.shape)
                offset = (np.array([col, row]) - (17 * UP - 1) / 2) * 8 / UP
                errors.append(np.hypot(*(offset - target)))
    return np.array(errors)


@pytest.mark.slow
def test_cli_training_learns(curated_jpeg, tmp_path) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", str(curated_jpeg), "--out", str(run), *LEARN]) == 0
    for name in ("config.json", "checkpoint.pt", "weights.pt", "log.json", "log.csv", "loss.png"):
        assert (run / name).is_file(), name
    assert not [p for p in os.listdir(run) if p.startswith(".")]  # no temporary file left
    png = cv2.imread(str(run / "loss.png"))
    assert png is not None and png.shape[0] > 200 and png.shape[1] > 400

    log = json.loads((run / "log.json").read_text())
    epochs = log["epochs"]
    with (run / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [e["epoch"] for e in epochs] == [0, 1, 2]
    assert [e["lr"] for e in epochs[1:]] == pytest.approx([0.01, 0.001])  # 1e-2 * (1e-3 / 1e-2) ** (e / 1)
    assert [e["pairs"] for e in epochs[1:]] == [32, 32]
    steps = [loss for _, loss in log["steps"]]
    assert len(steps) == 8  # 2 epochs of 4 batches, one record per step
    # The loss falls: over the steps, from epoch to epoch, and on the validation pairs.
    assert np.mean(steps[-3:]) < 0.8 * np.mean(steps[:3])
    assert epochs[2]["train_loss"] < epochs[1]["train_loss"]
    assert epochs[2]["val_loss"] < epochs[0]["val_loss"]

    # The validation pairs again, evaluated here independently of the trainer's code.
    val = PairDataset(curated_jpeg, SamplerConfig(pairs_per_epoch=16, max_translate=32, exemplar_stretch=0.0,
                                                  search_stretch=0.0), splits=("val",))
    val.set_epoch(0)
    loader = PairLoader(val, batch_size=8)
    torch.manual_seed(0)  # the trainer's initialisation (seed 0)
    untrained = SiamFCNet()
    trained = SiamFCNet()
    trained.load_state_dict(load_weights(run / "weights.pt"))
    err_untrained, err_trained = peak_errors(untrained, loader).mean(), peak_errors(trained, loader).mean()
    err_centre = np.mean([np.hypot(*t) for b in loader for t in b["target"].numpy()])  # "the target is centred"
    assert err_trained < err_untrained and err_trained < 0.5 * err_centre, (err_trained, err_untrained, err_centre)
    assert epochs[2]["val_centre_error"] == pytest.approx(err_trained, abs=1.0)
    assert epochs[0]["val_centre_error"] == pytest.approx(err_untrained, rel=0.1)


def tiny(**kw) -> TrainConfig:
    sampler = SamplerConfig(pairs_per_epoch=4)
    return TrainConfig(epochs=2, batch_size=2, val_pairs=2, progress=False, sampler=sampler, **kw)


@pytest.mark.slow
def test_resume_gives_the_uninterrupted_parameters(curated_jpeg, tmp_path) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    history = train(curated_jpeg, whole, tiny(keep_every=1))
    assert [e["epoch"] for e in history] == [0, 1, 2]
    assert sorted(p.name for p in whole.glob("checkpoint-e*.pt")) == ["checkpoint-e001.pt", "checkpoint-e002.pt"]

    # The same run through the CLI, interrupted after epoch 1, resumed with no option but --resume.
    options = ["--epochs", "2", "--batch-size", "2", "--val-pairs", "2", "--pairs-per-epoch", "4", "--no-progress"]
    assert main(["train", "--data", str(curated_jpeg), "--out", str(parts), *options, "--stop-after", "1"]) == 0
    half = load_checkpoint(parts / "checkpoint.pt")
    assert half["epoch"] == 1
    kept = load_checkpoint(whole / "checkpoint-e001.pt")
    assert all(torch.equal(v, half["model"][k]) for k, v in kept["model"].items())
    assert main(["train", "--out", str(parts), "--resume", "--no-progress"]) == 0

    a, b = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(parts / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()
    for key, value in a["model"].items():  # parameters and batch-norm statistics, bit for bit
        assert torch.equal(value, b["model"][key]), key
        assert key.endswith("num_batches_tracked") or not torch.equal(value, half["model"][key]), key
    momentum = [s["momentum_buffer"] for s in a["optimizer"]["state"].values()]
    assert all(torch.equal(m, s["momentum_buffer"]) for m, s in zip(momentum, b["optimizer"]["state"].values(),
                                                                     strict=True))
    assert a["scheduler"] == b["scheduler"]
    timing = {"seconds", "pairs_per_s", "data_wait_share"}
    assert ([{k: v for k, v in e.items() if k not in timing} for e in a["history"]["epochs"]]
            == [{k: v for k, v in e.items() if k not in timing} for e in b["history"]["epochs"]])

    # A finished run resumes to nothing; a run folder is never overwritten; options cannot change on resume.
    before = (parts / "weights.pt").read_bytes()
    assert len(train(curated_jpeg, parts, tiny(), resume=True)) == 3
    assert (parts / "weights.pt").read_bytes() == before
    with pytest.raises(FileExistsError, match="--resume"):
        train(curated_jpeg, parts, tiny())
    with pytest.raises(ValueError, match="lr_initial"):
        train(curated_jpeg, parts, tiny(lr_initial=0.5), resume=True)


TINY = ["--epochs", "2", "--batch-size", "2", "--val-pairs", "2", "--pairs-per-epoch", "4", "--no-progress"]


@pytest.mark.slow
def test_resume_auto_starts_continues_or_refuses(curated_jpeg, tmp_path, capsys) -> None:
    """``--resume auto`` (what a relaunched job runs): a fresh folder starts the run, a folder of this run
    continues it (exactly), a folder of another run is refused with the differences named."""
    run = tmp_path / "run"
    command = ["train", "--data", str(curated_jpeg), "--out", str(run), "--resume", "auto", *TINY]
    assert main([*command, "--stop-after", "1"]) == 0
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 1
    capsys.readouterr()
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "epoch 2 | train loss" in out and "epoch 1 |" not in out and "epoch 0 |" not in out
    whole = train(curated_jpeg, tmp_path / "whole", tiny())
    a, b = load_checkpoint(tmp_path / "whole" / "checkpoint.pt"), load_checkpoint(run / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2 and all(torch.equal(v, b["model"][k]) for k, v in a["model"].items())
    assert [e["val_loss"] for e in whole] == [e["val_loss"] for e in b["history"]["epochs"]]
    assert main(command) == 0 and "2 of 2 epochs already done" in capsys.readouterr().out

    # another run's checkpoint, or another run's config.json before its first checkpoint: refused, named
    assert main([*command, "--lr", "0.5", "--seed", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "checkpoint.pt: the run was started with other options" in err and "0.01 vs 0.5" in err
    assert "\n" not in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text((run / "config.json").read_text())
    assert main(["train", "--data", str(curated_jpeg), "--out", str(other), "--resume", "auto", *TINY,
                 "--epochs", "3"]) == 2
    assert "holds another run, started with other options (epochs: 2 vs 3)" in capsys.readouterr().err
    assert main(["train", "--out", str(run), "--resume", "auto"]) == 2  # auto takes the run from the command line
    assert "--data" in capsys.readouterr().err


@pytest.mark.slow
def test_step_checkpoints_resume_mid_epoch_exactly(curated_jpeg, tmp_path, monkeypatch) -> None:
    """``checkpoint_every_steps``: a run stopped inside an epoch resumes at the step of its last checkpoint and ends
    with the uninterrupted run's parameters and log (losses included: each rank's sums so far are kept)."""
    from siamfc.model import train as trainer

    whole, parts = tmp_path / "whole", tmp_path / "parts"
    uninterrupted = train(curated_jpeg, whole, tiny())  # 2 epochs of 2 steps
    step, calls = trainer.train_step, []

    def dies_at_the_fourth_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # epoch 2's second step: after the checkpoint of its first
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_step", dies_at_the_fourth_step)
    with pytest.raises(KeyboardInterrupt):
        train(curated_jpeg, parts, tiny(checkpoint_every_steps=1))
    saved = load_checkpoint(parts / "checkpoint.pt")
    assert (saved["epoch"], saved["step"], len(saved["partial"])) == (1, 1, 1)
    later = []
    monkeypatch.setattr(trainer, "train_step", lambda *a, **k: later.append(1) or step(*a, **k))
    resumed = train(curated_jpeg, parts, tiny(checkpoint_every_steps=1), resume=True)
    assert len(later) == 1  # the step left
    a, b = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(parts / "checkpoint.pt")
    assert "step" not in b and all(torch.equal(v, b["model"][k]) for k, v in a["model"].items())
    timing = {"seconds", "pairs_per_s", "data_wait_share"}
    assert ([{k: v for k, v in e.items() if k not in timing} for e in uninterrupted]
            == [{k: v for k, v in e.items() if k not in timing} for e in resumed])
    assert a["history"]["steps"] == b["history"]["steps"]


def test_config_json_round_trip_and_torch_free_import(tmp_path) -> None:
    config = TrainConfig(train_splits=("train", "val"), amp=True, sampler=SamplerConfig(pairs_per_epoch=4, max_gap=7))
    text = json.dumps(config.to_json())
    assert TrainConfig.from_json(json.loads(text)) == config  # lists back to tuples, the sampler back to a dataclass
    assert TrainConfig.from_json({**json.loads(text), "gone": 1}) == config  # keys no longer known are ignored
    # a config.json of before backbones: no backbone (AlexNet's), and the sampler's copy of its stride, now gone
    old = {k: v for k, v in json.loads(text).items() if k != "backbone"}
    old["sampler"] = {**old["sampler"], "stride": 8}
    assert TrainConfig.from_json(old) == config and config.backbone == "alexnet"
    with pytest.raises(TypeError, match="JSON object"):
        TrainConfig.from_json([])
    code = "import sys, siamfc.model.train_config, siamfc.tools.cmd_train; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr[-2000:]  # `siamfc train --help` loads no torch


def test_the_networks_backbone_checks_the_crop_sizes(curated_jpeg, tmp_path) -> None:
    # crop sizes the network's cells do not tile: another map size (121) or cells off the labels' grid (253)
    for field, size in (("exemplar_size", 121), ("search_size", 253)):
        with pytest.raises(ValueError, match=rf"SamplerConfig\.{field} must be 87 plus a multiple of 8 for the "
                                             "alexnet network"):
            sampler = SamplerConfig(pairs_per_epoch=4, **{field: size})
            train(curated_jpeg, tmp_path / "run", TrainConfig(sampler=sampler))
    with pytest.raises(ValueError, match=r"TrainConfig\.backbone: unknown backbone 'vgg'; known: alexnet"):
        train(curated_jpeg, tmp_path / "run", TrainConfig(backbone="vgg", sampler=SamplerConfig(pairs_per_epoch=4)))
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_augmenting_on_the_device_trains_on_the_same_pairs(curated_jpeg, tmp_path) -> None:
    """Both augmentation placements run through the trainer; before any update (the epoch-0 validation and the
    first epoch's mean loss) the same network sees the same pairs up to pixel rounding, so the losses agree."""
    workers = train(curated_jpeg, tmp_path / "workers", tiny(augment_on="workers"))
    device = train(curated_jpeg, tmp_path / "device", tiny(augment_on="device"))
    assert len(workers) == len(device) == 3
    assert device[0]["val_loss"] == pytest.approx(workers[0]["val_loss"], rel=1e-3)
    assert device[1]["train_loss"] == pytest.approx(workers[1]["train_loss"], rel=2e-3)
    with pytest.raises(ValueError, match="augment_on"):
        train(curated_jpeg, tmp_path / "bad", tiny(augment_on="gpu"))


def test_mixed_precision_step_on_cpu() -> None:
    """``--amp`` on the CPU: a bfloat16 step with the correlation and the loss in float32."""
    torch.manual_seed(0)
    model = SiamFCNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    maps = score_labels((8.0, 0.0), response_size=3, stride=model.total_stride)
    label, weight = (torch.from_numpy(a)[None] for a in maps)
    z, x = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 143, 143) * 255  # a 3x3 response: CPU bf16 is slow
    before = model.backbone.conv1[0].weight.detach().clone()
    loss = train_step(model, optimizer, torch.amp.GradScaler("cpu", enabled=False), z, x, label, weight, amp=True)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    after = model.backbone.conv1[0].weight.detach()
    assert after.dtype == torch.float32 and not torch.equal(before, after)


def test_cli_errors_are_one_line(curated_jpeg, tmp_path, capsys) -> None:
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert main(["train", "--out", str(tmp_path / "run"), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err
    assert main(["train", "--data", str(curated_jpeg), "--out", str(tmp_path / "run"), "--val-split", "test"]) == 2
    err = capsys.readouterr().err.strip()
    assert "test" in err and "\n" not in err


@pytest.mark.slow
def test_two_process_gloo_run(curated_jpeg, tmp_path) -> None:
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "siamfc.tools.cli", "train", "--data", str(curated_jpeg), "--out", str(run), "--device", "cpu",
           "--epochs", "1", "--batch-size", "2", "--pairs-per-epoch", "8", "--val-pairs", "4", "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    epochs = json.loads((run / "log.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert epochs[1]["pairs"] == 8  # 4 pairs on each rank, summed
    torch.manual_seed(0)
    initial = SiamFCNet().state_dict()
    weights = load_weights(run / "weights.pt")
    assert all(torch.isfinite(v.float()).all() for v in weights.values())
    assert not torch.equal(weights["backbone.conv1.0.weight"], initial["backbone.conv1.0.weight"])
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 1
