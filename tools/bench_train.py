"""`siamfc bench train`: training pairs/s, the share of time spent waiting on data, and the ratio to a floor.

Three measurements per loader setting, all on the same device, model and batch size, set up by the trainer's own
functions (:mod:`siamfc.model.train_setup`), so the figures are those of ``siamfc train`` with these options:

- floor: ``train_step`` (forward, backward, SGD step) on one fixed batch already on the device;
- training: the trainer's :class:`~siamfc.pipeline.loader.PairLoader` feeding ``train_step``;
  data wait = time blocked in ``next(loader)`` / total. Floor and training steps alternate, one each, so that
  both see the same load on a shared, noisy machine;
- loader alone: the same loader drained without training, i.e. how many pairs/s the sampler can supply.

The sampler is not the bottleneck when training runs near the floor (ratio ~1), the wait share is small and the
loader alone is many times faster than training. Each row also says how long the paper's schedule (50 epochs of
50,000 pairs) would take at that speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

from siamfc.curate.errors import UserError
from siamfc.curate.synth import SynthConfig
from siamfc.model.inference import resolve_device
from siamfc.model.train_config import TrainConfig
from siamfc.model.train_setup import (
    Learner,
    build_learner,
    check_network,
    make_loader,
    open_pairs,
    to_device,
    train_step,
)
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.ranks import DistInfo
from siamfc.pipeline.sampler_config import SamplerConfig
from siamfc.tools.synthetic import synthetic_curation

PAPER_PAIRS = TrainConfig().epochs * SamplerConfig().pairs_per_epoch  # 50 x 50,000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step(learner: Learner, batch: tuple[torch.Tensor, ...]) -> None:
    z, x, label, weight, _ = batch
    train_step(learner.model, learner.optimizer, learner.scaler, z, x, label, weight, learner.amp)


def paired_seconds(learner: Learner, fixed: tuple[torch.Tensor, ...], loader: PairLoader,
                   steps: int) -> tuple[float, ...]:
    """(floor, training, data wait) seconds per step, floor and training steps alternating so that both see the
    same load on a shared machine. The floor step reuses ``fixed``, already on the device; the training step
    takes the loader's next batch (the wait) and moves it to the device, as the trainer does."""
    device = fixed[0].device
    it = iter(loader)
    floor = train = wait = 0.0
    for _ in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        _step(learner, fixed)
        _sync(device)
        t1 = time.perf_counter()
        batch = next(it)
        t2 = time.perf_counter()
        _step(learner, to_device(batch, device))
        _sync(device)
        t3 = time.perf_counter()
        floor, train, wait = floor + t1 - t0, train + t3 - t1, wait + t2 - t1
    return floor / steps, train / steps, wait / steps


def loader_seconds(loader: PairLoader, steps: int) -> float:
    """Seconds per batch of draining the loader alone (worker start-up included, as in each epoch)."""
    start = time.perf_counter()
    it = iter(loader)
    for _ in range(steps):
        next(it)
    return (time.perf_counter() - start) / steps


def bench_train(data: Path, batch_size: int, steps: int, workers: list[int], device_name: str = "auto",
                amp: bool | None = None, warmup: int = 2) -> dict:
    """Run the benchmark on curation ``data`` and print its table; returns the figures. Device, pairs, loaders,
    network and optimiser come from the trainer's own set-up (:mod:`siamfc.model.train_setup`)."""
    info = DistInfo()
    config = TrainConfig(batch_size=batch_size, device=device_name, amp=amp, val_pairs=0, progress=False,
                         sampler=SamplerConfig(pairs_per_epoch=batch_size * (steps + warmup) * 4))
    check_network(config)
    device = resolve_device(config.device, info.local_rank)
    dataset, _ = open_pairs(data, data, config, info)
    learner = build_learner(config, device)
    fixed = to_device(next(iter(make_loader(dataset, dataclasses.replace(config, num_workers=0), device))), device)
    print(f"device {device} (amp {'on' if learner.amp else 'off'}), batch {batch_size}, {steps} timed steps, "
          f"torch threads {torch.get_num_threads()}")
    results: dict = {"device": str(device), "device_name": _device_name(device), "torch": torch.__version__,
                     "amp": learner.amp, "batch_size": batch_size, "steps": steps, "warmup": warmup,
                     "paper_pairs": PAPER_PAIRS, "workers": {}}
    for w in workers:
        loader = make_loader(dataset, dataclasses.replace(config, num_workers=w), device)
        dataset.set_epoch(1)
        if warmup:
            paired_seconds(learner, fixed, loader, warmup)
        dataset.set_epoch(2)
        floor, step, wait = paired_seconds(learner, fixed, loader, steps)
        dataset.set_epoch(3)
        alone = loader_seconds(loader, steps)
        r = results["workers"][w] = {
            "pairs_per_s": batch_size / step, "floor_pairs_per_s": batch_size / floor, "ratio": step / floor,
            "data_wait_share": wait / step, "loader_pairs_per_s": batch_size / alone, "headroom": step / alone,
            "paper_minutes": PAPER_PAIRS * step / batch_size / 60,
        }
        print(f"workers {w}: training {r['pairs_per_s']:7.1f} pairs/s | floor (fixed batch) "
              f"{r['floor_pairs_per_s']:7.1f} pairs/s | ratio {r['ratio']:.2f}x floor | data wait "
              f"{100 * r['data_wait_share']:4.1f}% | loader alone {r['loader_pairs_per_s']:7.1f} pairs/s "
              f"({r['headroom']:.0f}x training) | the paper's {PAPER_PAIRS:,} pairs in "
              f"{r['paper_minutes']:.1f} min")
    return results


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def cmd_bench_train(args: argparse.Namespace) -> None:
    if args.steps < 1 or args.warmup < 0 or args.batch_size < 1:
        raise UserError("--steps and --batch-size must be at least 1 and --warmup at least 0")
    options = dict(batch_size=args.batch_size, steps=args.steps, workers=args.workers, device_name=args.device,
                   amp=args.amp, warmup=args.warmup)
    if args.data:
        results = bench_train(Path(args.data), **options)
    else:
        with tempfile.TemporaryDirectory(prefix="siamfc-bench-train-") as tmp:
            config = SynthConfig(train_snippets=8, val_snippets=0, frames=24)
            results = bench_train(synthetic_curation(Path(tmp), config), **options)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
