"""`siamfc bench train`: training pairs/s, the share of time spent waiting on data, and the ratio to a floor.

Three measurements per loader setting, all on the same device, model and batch size:

- floor: ``train_step`` (forward, backward, SGD step) on one fixed batch already on the device;
- training: the real loop, the :class:`~siamfc.pipeline.dataset.PairDataset` loader feeding ``train_step``;
  data wait = time blocked in ``next(loader)`` / total. Floor and training steps alternate, one each, so that
  both see the same load on a shared, noisy machine;
- loader alone: the same loader drained without training, i.e. how many pairs/s the sampler can supply.

The sampler is not the bottleneck when training runs near the floor (ratio ~1), the wait share is small and the
loader alone is many times faster than training.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from siamfc.curate.synth import SynthConfig
from siamfc.model.distributed import DistInfo
from siamfc.model.net import SiamFCNet
from siamfc.model.train import resolve_device, to_device, train_step
from siamfc.pipeline.dataset import PairDataset, SamplerConfig
from siamfc.pipeline.loader import PairLoader
from siamfc.tools.synthetic import synthetic_curation


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Trainer:
    """A model with its optimiser, stepping on batches (the trainer's own ``train_step``)."""

    def __init__(self, device: torch.device, amp: bool):
        torch.manual_seed(0)
        self.device, self.amp = device, amp
        self.model = SiamFCNet().to(device).train()
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")

    def step(self, batch: tuple[torch.Tensor, ...]) -> None:
        z, x, label, weight, _ = batch
        train_step(self.model, self.optimizer, self.scaler, z, x, label, weight, self.amp)


def paired_seconds(trainer: _Trainer, fixed: tuple[torch.Tensor, ...], loader, steps: int) -> tuple[float, ...]:
    """(floor, training, data wait) seconds per step, floor and training steps alternating so that both see the
    same load on a shared machine. The floor step reuses ``fixed``, already on the device; the training step
    takes the loader's next batch (the wait) and moves it to the device, as the trainer does."""
    it = iter(loader)
    floor = train = wait = 0.0
    for _ in range(steps):
        _sync(trainer.device)
        t0 = time.perf_counter()
        trainer.step(fixed)
        _sync(trainer.device)
        t1 = time.perf_counter()
        batch = next(it)
        t2 = time.perf_counter()
        trainer.step(to_device(batch, trainer.device))
        _sync(trainer.device)
        t3 = time.perf_counter()
        floor, train, wait = floor + t1 - t0, train + t3 - t1, wait + t2 - t1
    return floor / steps, train / steps, wait / steps


def loader_seconds(loader, steps: int) -> float:
    """Seconds per batch of draining the loader alone (worker start-up included, as in each epoch)."""
    start = time.perf_counter()
    it = iter(loader)
    for _ in range(steps):
        next(it)
    return (time.perf_counter() - start) / steps


def bench_train(data: Path, batch_size: int, steps: int, workers: list[int], device_name: str = "auto",
                amp: bool | None = None, warmup: int = 2) -> dict:
    """Run the benchmark on curation ``data`` and print its table; returns the figures."""
    device = resolve_device(device_name, DistInfo())
    amp = device.type == "cuda" if amp is None else amp
    pairs = batch_size * (steps + warmup) * 4
    dataset = PairDataset(data, SamplerConfig(pairs_per_epoch=pairs), splits=("train",))
    trainer = _Trainer(device, amp)
    fixed = to_device(next(iter(PairLoader(dataset, batch_size))), device)
    print(f"device {device} (amp {'on' if amp else 'off'}), batch {batch_size}, {steps} timed steps, "
          f"torch threads {torch.get_num_threads()}")
    results: dict = {"device": str(device), "batch_size": batch_size}
    for w in workers:
        loader = PairLoader(dataset, batch_size, num_workers=w, pin_memory=device.type == "cuda")
        dataset.set_epoch(1)
        paired_seconds(trainer, fixed, loader, warmup)
        dataset.set_epoch(2)
        floor, step, wait = paired_seconds(trainer, fixed, loader, steps)
        dataset.set_epoch(3)
        alone = loader_seconds(loader, steps)
        r = results[w] = {
            "pairs_per_s": batch_size / step, "floor_pairs_per_s": batch_size / floor, "ratio": step / floor,
            "data_wait_share": wait / step, "loader_pairs_per_s": batch_size / alone, "headroom": step / alone,
        }
        print(f"workers {w}: training {r['pairs_per_s']:7.1f} pairs/s | floor (fixed batch) "
              f"{r['floor_pairs_per_s']:7.1f} pairs/s | ratio {r['ratio']:.2f}x floor | data wait "
              f"{100 * r['data_wait_share']:4.1f}% | loader alone {r['loader_pairs_per_s']:7.1f} pairs/s "
              f"({r['headroom']:.0f}x training)")
    return results


def cmd_bench_train(args: argparse.Namespace) -> None:
    options = dict(batch_size=args.batch_size, steps=args.steps, workers=args.workers, device_name=args.device,
                   amp=args.amp)
    if args.data:
        bench_train(Path(args.data), **options)
        return
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-train-") as tmp:
        bench_train(synthetic_curation(Path(tmp), SynthConfig(train_snippets=8, val_snippets=0, frames=24)), **options)


def register(bench: argparse._SubParsersAction) -> None:
    b = bench.add_parser("train", help="training pairs/s and data-wait share against a fixed-batch floor")
    b.add_argument("data", nargs="?", help="curation folder (default: synthesise and curate one)")
    b.add_argument("--batch-size", type=int, default=8, help="pairs per step (default 8)")
    b.add_argument("--steps", type=int, default=10, help="timed steps per measurement (default 10)")
    b.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="loader processes to try (default 0 2)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: CUDA when present")
    b.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on for CUDA)")
    b.set_defaults(func=cmd_bench_train)
