"""Training SiamFC from curated LMDB shards: SGD with a geometric learning-rate decay, validation each epoch,
a checkpoint each epoch, exact resumption; one process (CPU or CUDA) or many under ``torchrun``.

The run folder ``out`` holds ``config.json``, ``checkpoint.pt`` (latest; see :mod:`.checkpoint`),
``weights.pt`` (the plain state dict the tracker loads), ``log.csv`` / ``log.json`` (one row per epoch;
row 0 is the untrained model's validation) and ``loss.png``.

Determinism: the sampler's pairs depend only on its seed, the epoch and the rank, and every RNG state is
saved with each checkpoint, so on the CPU with ``num_workers=0`` a resumed run ends with exactly the
parameters of an uninterrupted one. ``batch_size`` is per process; under ``torchrun`` the sampler shards
``pairs_per_epoch`` over the ranks, gradients are averaged by DistributedDataParallel and only rank 0 writes
files. All ranks restore rank 0's RNG states on resume (the sampler does not draw from them).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import math
import os
import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from siamfc.curate.atomic import atomic_write, writable_folder, write_json_atomic, write_text_atomic
from siamfc.curate.geometry import TOTAL_STRIDE
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.ranks import resolve_rank
from siamfc.pipeline.sampler_config import AUGMENT_ON, MAX_TRANSLATE_LIMIT, SamplerConfig

from . import distributed as dist
from .checkpoint import (
    CHECKPOINT_FILE,
    WEIGHTS_FILE,
    load_checkpoint,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from .head import response_peaks
from .loss import logistic_loss, pair_losses
from .net import SiamFCNet

CONFIG_FILE = "config.json"
LOG_CSV, LOG_JSON, LOSS_PNG = "log.csv", "log.json", "loss.png"
LOG_COLUMNS = ("epoch", "lr", "train_loss", "val_loss", "val_centre_error", "pairs", "seconds", "pairs_per_s",
               "data_wait_share")
# Options that may differ between a run and its resumption (they do not change what is computed on the CPU).
RUNTIME_FIELDS = ("device", "amp", "num_workers", "augment_on", "log_every", "keep_every", "progress", "intact_only")
DEVICES = ("auto", "cpu", "cuda")
RESUME_KEYS = ("config", "history", "rng")  # what a resumed run needs beyond the checkpoint's own keys


@dataclass(frozen=True)
class TrainConfig:
    """Training options; defaults are the paper's (50 epochs of 50,000 pairs, batch 8, lr 1e-2 -> 1e-5).

    Every field is checked on construction: ValueError naming the first one out of range (``TrainConfig.epochs``).
    """

    epochs: int = 50
    batch_size: int = 8  # per process
    lr_initial: float = 1e-2
    lr_final: float = 1e-5  # reached at the last epoch: lr decays by ``lr_gamma`` after each epoch
    momentum: float = 0.9
    weight_decay: float = 5e-4
    sampler: SamplerConfig = field(default_factory=SamplerConfig)  # training pairs (pairs_per_epoch, seed, ...)
    train_splits: tuple[str, ...] = ("train",)
    val_splits: tuple[str, ...] = ("val",)
    val_pairs: int = 1000  # pairs per validation, the same every epoch; 0 = no validation
    val_max_translate: int | None = None  # validation target shifts, pixels per axis; None = the sampler's
    val_upsample: int = 16  # response upsampling for the validation centre error (SiamFC's tracker uses 16)
    seed: int = 0  # model initialisation and the global RNGs
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    amp: bool | None = None  # automatic mixed precision; None = on for CUDA only
    num_workers: int | None = None  # loader processes; None = 0 on the CPU, up to 8 per GPU
    augment_on: str = "auto"  # where pairs are augmented: workers, device, auto (device on CUDA); see PairLoader
    log_every: int = 20  # steps between progress-bar/loss-curve updates
    keep_every: int = 0  # also keep checkpoint-eNNN.pt every N epochs (0 = only the latest)
    progress: bool = True
    intact_only: bool = False  # train on the intact shards of a curation with damaged ones (else refuse)

    @property
    def lr_gamma(self) -> float:
        """Per-epoch decay factor: ``(lr_final / lr_initial) ** (1 / (epochs - 1))``."""
        return (self.lr_final / self.lr_initial) ** (1 / (self.epochs - 1)) if self.epochs > 1 else 1.0

    def __post_init__(self) -> None:
        for name, ok, what in self._checks():
            if not ok:
                raise ValueError(f"TrainConfig.{name} must be {what}, got {_attr(self, name)!r}")

    def _checks(self) -> list[tuple[str, bool, str]]:
        """``(field, valid, what a valid value is)`` for every option."""
        s = self.sampler
        checks = [
            ("epochs", _whole(self.epochs, 1), "an integer of at least 1"),
            ("batch_size", _whole(self.batch_size, 1), "an integer of at least 1"),
            ("lr_initial", _finite(self.lr_initial) and self.lr_initial > 0, "a finite number above 0"),
            ("lr_final", _finite(self.lr_final) and self.lr_final > 0, "a finite number above 0"),
            ("momentum", _finite(self.momentum) and 0 <= self.momentum < 1, "in [0, 1)"),
            ("weight_decay", _finite(self.weight_decay) and self.weight_decay >= 0, "a finite number, 0 or more"),
            ("train_splits", _names(self.train_splits), "a tuple of one or more split names"),
            ("val_splits", _names(self.val_splits), "a tuple of one or more split names"),
            ("val_pairs", _whole(self.val_pairs, 0), "an integer, 0 or more"),
            ("val_max_translate", self.val_max_translate is None
             or _whole(self.val_max_translate, 0) and self.val_max_translate <= MAX_TRANSLATE_LIMIT,
             f"an integer in [0, {MAX_TRANSLATE_LIMIT}]"),
            ("val_upsample", _whole(self.val_upsample, 1), "an integer of at least 1"),
            ("seed", _whole(self.seed, 0) and self.seed < 2**32, "an integer in [0, 2**32)"),  # numpy's seed range
            ("device", self.device in DEVICES, f"one of {', '.join(DEVICES)}"),
            ("amp", self.amp is None or isinstance(self.amp, bool), "on, off or unset"),
            ("num_workers", self.num_workers is None or _whole(self.num_workers, 0), "an integer, 0 or more"),
            ("augment_on", self.augment_on in AUGMENT_ON, f"one of {', '.join(AUGMENT_ON)}"),
            ("log_every", _whole(self.log_every, 1), "an integer of at least 1"),
            ("keep_every", _whole(self.keep_every, 0), "an integer, 0 or more"),
            ("sampler", isinstance(s, SamplerConfig), "a SamplerConfig"),
        ]
        if isinstance(s, SamplerConfig):  # SamplerConfig checks its own values
            checks.append(("sampler.stride", s.stride == TOTAL_STRIDE, f"{TOTAL_STRIDE}, the network's stride"))
        return checks

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able values (the sampler as a nested dict)."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrainConfig:
        """The config :meth:`to_json` wrote (keys no longer known are ignored)."""
        d = _known(cls, d)
        if isinstance(d.get("sampler"), dict):
            d["sampler"] = SamplerConfig(**_known(SamplerConfig, d["sampler"]))
        return cls(**d)


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _names(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) > 0 and all(isinstance(v, str) and v for v in value)


def _attr(obj: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: _tuples(v) for k, v in d.items() if k in names}


def _tuples(v: Any) -> Any:
    """JSON lists back to the tuples frozen configs use."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def config_differences(saved: TrainConfig, given: TrainConfig) -> list[str]:
    """Options other than :data:`RUNTIME_FIELDS` whose values differ, as ``name: saved vs given``."""
    a, b = saved.to_json(), given.to_json()
    return [f"{k}: {a[k]!r} vs {b[k]!r}" for k in a if k not in RUNTIME_FIELDS and a[k] != b.get(k)]


def resolve_device(name: str, info: dist.DistInfo) -> torch.device:
    """``auto`` -> CUDA when present; each process gets the GPU of its local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda asked but no CUDA device is available")
        return torch.device("cuda", info.local_rank)
    return torch.device("cpu")


def train(data: str | Path, out: str | Path, config: TrainConfig = TrainConfig(), *, resume: bool = False,
          stop_after: int | None = None, val_data: str | Path | None = None) -> list[dict[str, Any]]:
    """Train on curation ``data`` into run folder ``out``; returns the per-epoch log.

    ``resume`` continues the run saved in ``out`` (its options must match ``config`` except
    :data:`RUNTIME_FIELDS`). ``stop_after`` ends this call once that many epochs are done in total (for
    time-limited jobs); the learning-rate schedule still spans ``config.epochs``. Validation pairs come from
    ``val_data`` (default ``data``), splits ``config.val_splits``.
    """
    if stop_after is not None and not _whole(stop_after, 1):
        raise ValueError(f"stop_after must be an integer of at least 1, got {stop_after!r}")
    info = resolve_rank()
    device = resolve_device(config.device, info)
    created = dist.setup(info, device.type == "cuda")
    try:
        return _Run(Path(data), Path(out), config, info, device, resume, Path(val_data or data)).run(stop_after)
    finally:
        dist.teardown(created)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    """``(z, x, label, weight, target)`` of a loader batch on ``device`` (where :class:`PairLoader` puts them when
    given the device); uint8 crops become float 0..255 there (channels-last on CUDA, the fast layout for cuDNN
    convolutions)."""
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    z, x = (batch[k].to(device, non_blocking=True).float().contiguous(memory_format=fmt) for k in "zx")
    label, weight, target = (batch[k].to(device, non_blocking=True) for k in ("label", "weight", "target"))
    return z, x, label, weight, target


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """Mixed precision: float16 on CUDA (with a GradScaler), bfloat16 on the CPU."""
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16,
                          enabled=enabled)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               z: torch.Tensor, x: torch.Tensor, label: torch.Tensor, weight: torch.Tensor,
               amp: bool = False) -> torch.Tensor:
    """One SGD step on a batch; returns the (detached) batch loss, still on the device."""
    with autocast(z.device, amp):
        logits = model(z, x)
    loss = logistic_loss(logits, label, weight)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.detach()


class _Run:
    """One process's share of a training run."""

    def __init__(self, data: Path, out: Path, config: TrainConfig, info: dist.DistInfo, device: torch.device,
                 resume: bool, val_data: Path) -> None:
        self.data, self.val_data, self.out, self.config, self.info = data, val_data, out, config, info
        self.device = device
        self.amp = config.amp if config.amp is not None else device.type == "cuda"
        self._open_data()  # first, so that a bad --data leaves no trace in the run folder
        checkpoint = dist.broadcast(self._read_checkpoint(resume) if info.is_main else None, info)
        if isinstance(checkpoint, Exception):
            raise checkpoint
        _seed_everything(config.seed)
        self.model = SiamFCNet().to(device)
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr_initial, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, config.lr_gamma)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp and device.type == "cuda")
        self.epoch, self.history = 0, {"epochs": [], "steps": []}
        if checkpoint is not None:
            try:
                self._restore(checkpoint)
            except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as err:
                detail = (str(err).strip().splitlines() or [""])[0][:200]
                raise ValueError(f"{out / CHECKPOINT_FILE}: cannot restore the run from this checkpoint "
                                 f"({type(err).__name__}: {detail})") from None
        self.ddp = (DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
                    if info.enabled else self.model)

    # -- set-up ------------------------------------------------------------------------------------------
    def _open_data(self) -> None:
        """This rank's training and validation pair streams and their loaders."""
        config, info = self.config, self.info
        self.train_set = PairDataset(self.data, config.sampler, splits=config.train_splits, rank=info.rank,
                                     world_size=info.world_size, intact_only=config.intact_only)
        self.val_set = None
        if config.val_pairs:
            try:
                self.val_set = PairDataset(self.val_data, val_sampler(config), splits=config.val_splits,
                                           rank=info.rank, world_size=info.world_size, intact_only=config.intact_only)
            except ValueError as err:
                raise ValueError(f"{err}; validation needs held-out pairs: pass --val-data or --val-split, or "
                                 "--val-pairs 0 to train without validation") from None
        cuda = self.device.type == "cuda"
        workers = config.num_workers if config.num_workers is not None else (
            min(8, (os.cpu_count() or 1) // max(1, torch.cuda.device_count())) if cuda else 0)
        loader = functools.partial(PairLoader, batch_size=config.batch_size, num_workers=workers, pin_memory=cuda,
                                   device=self.device, dtype=torch.float32, augment_on=config.augment_on)
        self.train_loader = loader(self.train_set)
        self.val_loader = loader(self.val_set) if self.val_set is not None else None

    def _read_checkpoint(self, resume: bool) -> dict[str, Any] | Exception | None:
        """Rank 0: the checkpoint to resume from, None for a fresh run, or the error to raise on every rank."""
        path = self.out / CHECKPOINT_FILE
        try:
            if resume and not path.is_file():
                raise FileNotFoundError(f"{path}: no checkpoint to resume; start the run without --resume")
            if not resume and path.exists():
                raise FileExistsError(f"{path}: the run folder already holds a run; pass --resume to "
                                      "continue it or choose another --out")
            writable_folder(self.out, "run folder")  # before any training: each epoch ends by writing here
            if not resume:
                write_json_atomic(self.out / CONFIG_FILE,
                                  {"data": str(self.data), "val_data": str(self.val_data), **self.config.to_json()})
                return None
            return self._resumable(path)
        except (OSError, ValueError) as err:
            return err

    def _resumable(self, path: Path) -> dict[str, Any]:
        """The checkpoint at ``path``, checked to continue this run; ValueError naming it otherwise."""
        checkpoint = load_checkpoint(path)
        missing = [k for k in RESUME_KEYS if k not in checkpoint]
        if missing:
            raise ValueError(f"{path}: the checkpoint lacks {', '.join(missing)}; it was not written by siamfc train")
        try:
            saved = TrainConfig.from_json(checkpoint["config"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: the checkpoint's configuration is unusable ({err})") from None
        diff = config_differences(saved, self.config)
        if diff:
            raise ValueError(f"{path}: the run was started with other options ({'; '.join(diff)}); "
                             "resume with the same ones")
        return checkpoint

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        if checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.epoch = int(checkpoint["epoch"])
        self.history = checkpoint["history"]
        set_rng_state(checkpoint["rng"])

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self, stop_after: int | None) -> list[dict[str, Any]]:
        config, main = self.config, self.info.is_main
        end = min(config.epochs, stop_after) if stop_after is not None else config.epochs
        if self.epoch == 0 and not self.history["epochs"] and self.val_loader is not None:
            self.history["epochs"].append({"epoch": 0, **self.validate()})  # the untrained baseline
            self._say(_summary(self.history["epochs"][-1]))
        if self.epoch >= end:
            self._say(f"{self.out}: {self.epoch} of {config.epochs} epochs already done; nothing to train")
        while self.epoch < end:
            record = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"], **self.train_epoch()}
            if self.val_loader is not None:
                record.update(self.validate())
            self.scheduler.step()
            self.epoch += 1
            self.history["epochs"].append(record)
            if main:
                self._save()
            self._say(_summary(record))
        return self.history["epochs"]

    def train_epoch(self) -> dict[str, float]:
        """One pass over this epoch's pairs; loss, throughput and data-wait share summed over ranks."""
        config = self.config
        self.train_set.set_epoch(self.epoch)
        self.ddp.train()
        steps = _length(self.train_loader)
        bar = tqdm(total=steps, desc=f"epoch {self.epoch + 1}/{config.epochs}", unit="batch", dynamic_ncols=True,
                   disable=not (config.progress and self.info.is_main))
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        pairs, wait, logged, logged_loss, step = 0, 0.0, 0, 0.0, 0
        start = time.perf_counter()
        it = iter(self.train_loader)
        with self.ddp.join() if self.info.enabled else nullcontext():
            while True:
                t = time.perf_counter()
                batch = next(it, None)
                wait += time.perf_counter() - t
                if batch is None:
                    break
                z, x, label, weight, _ = to_device(batch, self.device)
                loss = train_step(self.ddp, self.optimizer, self.scaler, z, x, label, weight, self.amp)
                loss_sum += loss.double() * len(z)
                pairs, step = pairs + len(z), step + 1
                bar.update()
                if step % config.log_every == 0:
                    logged_loss, logged = self._log_steps(loss_sum, logged_loss, pairs, logged, step, steps, bar, start)
        seconds = time.perf_counter() - start
        if pairs > logged:
            self._log_steps(loss_sum, logged_loss, pairs, logged, step, steps, bar, start)
        bar.close()
        total_loss, total_pairs, total_wait = dist.all_sum([loss_sum.item(), pairs, wait], self.info, self.device)
        return {"train_loss": total_loss / max(total_pairs, 1), "pairs": int(total_pairs), "seconds": seconds,
                "pairs_per_s": total_pairs / seconds, "data_wait_share": total_wait / self.info.world_size / seconds}

    def _log_steps(self, loss_sum: torch.Tensor, logged_loss: float, pairs: int, logged: int, step: int,
                   steps: int | None, bar: tqdm, start: float) -> tuple[float, int]:
        """Record the mean loss since the last record (one device sync) and refresh the progress bar."""
        total = loss_sum.item()
        mean = (total - logged_loss) / (pairs - logged)
        if not math.isfinite(mean):
            raise FloatingPointError(f"training loss became {mean} at epoch {self.epoch + 1}, step {step}; "
                                     "lower the learning rate")
        self.history["steps"].append([self.epoch + step / (steps or step), mean])
        bar.set_postfix(loss=f"{total / pairs:.4f}",
                        pairs_s=f"{pairs * self.info.world_size / (time.perf_counter() - start):.1f}", refresh=False)
        return total, pairs

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Loss and mean centre error (search-crop pixels) of the response peak on the fixed validation pairs."""
        model = self.model.eval()
        self.val_set.set_epoch(0)
        sums = [0.0, 0.0, 0.0]  # loss, centre error, pairs
        for batch in self.val_loader:
            z, x, label, weight, target = to_device(batch, self.device)
            with autocast(self.device, self.amp):
                logits = model(z, x)
            errors = (response_peaks(logits, self.config.val_upsample) - target.float()).norm(dim=1)
            sums[0] += pair_losses(logits, label, weight).sum().item()
            sums[1] += errors.sum().item()
            sums[2] += len(z)
        model.train()
        loss, error, n = dist.all_sum(sums, self.info, self.device)
        return {"val_loss": loss / n, "val_centre_error": error / n}

    # -- output ----------------------------------------------------------------------------------------------
    def _save(self) -> None:
        """Checkpoint, weights, logs and plot of the epoch just finished (rank 0)."""
        path = save_checkpoint(
            self.out / CHECKPOINT_FILE, model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(), scaler=self.scaler.state_dict(), epoch=self.epoch,
            config=self.config.to_json(), history=self.history, data=str(self.data))
        if self.config.keep_every and self.epoch % self.config.keep_every == 0:
            keep = self.out / f"checkpoint-e{self.epoch:03d}.pt"
            keep.unlink(missing_ok=True)
            try:
                os.link(path, keep)  # checkpoint.pt is replaced by a new file next epoch; the link keeps this one
            except OSError:
                shutil.copyfile(path, keep)
        save_weights(self.out / WEIGHTS_FILE, self.model)
        write_logs(self.out, self.history)

    def _say(self, line: str) -> None:
        if self.info.is_main and self.config.progress:
            tqdm.write(line)


def val_sampler(config: TrainConfig) -> SamplerConfig:
    """Validation pairs: ``val_pairs`` of them, the training records and target shifts (``val_max_translate``
    overrides the shift range), no stretch, flip, grayscale or colour jitter."""
    s = config.sampler
    shift = s.max_translate if config.val_max_translate is None else config.val_max_translate
    return dataclasses.replace(s, pairs_per_epoch=max(config.val_pairs, 1), max_translate=shift, exemplar_stretch=0.0,
                               search_stretch=0.0, flip=0.0, grayscale=0.0, color_jitter=0.0)


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _summary(r: dict[str, Any]) -> str:
    parts = [f"epoch {r['epoch']}"]
    if r.get("train_loss") is not None:
        parts.append(f"train loss {r['train_loss']:.4f} ({r['pairs_per_s']:.1f} pairs/s, "
                     f"data wait {100 * r['data_wait_share']:.1f}%)")
    if r.get("val_loss") is not None:
        parts.append(f"val loss {r['val_loss']:.4f}, centre error {r['val_centre_error']:.1f} px")
    return " | ".join(parts) + (" (untrained)" if r["epoch"] == 0 else "")


# -- logs ------------------------------------------------------------------------------------------------------
def write_logs(out: Path, history: dict[str, Any]) -> None:
    """``log.json`` (epochs and step losses), ``log.csv`` (epochs) and ``loss.png``, each replaced atomically."""
    write_json_atomic(out / LOG_JSON, history)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history["epochs"])
    write_text_atomic(out / LOG_CSV, text.getvalue())
    plot_losses(history, out / LOSS_PNG)


def plot_losses(history: dict[str, Any], path: Path) -> None:
    """Loss curves (training steps, training epochs, validation) and the validation centre error."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = history["epochs"]
    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)  # a figure of its own: pyplot's global state and backend stay untouched
    ax_loss, ax_err = fig.subplots(1, 2)
    if history["steps"]:
        s = np.asarray(history["steps"], dtype=float)
        ax_loss.plot(s[:, 0], s[:, 1], color="tab:blue", alpha=0.5, lw=0.8, label="train (steps)")
    for key, style, name in (("train_loss", "o-", "train (epoch mean)"), ("val_loss", "s-", "validation")):
        pts = [(r["epoch"], r[key]) for r in epochs if r.get(key) is not None]
        if pts:
            ax_loss.plot(*zip(*pts, strict=True), style, label=name)
    ax_loss.set(xlabel="epoch", ylabel="logistic loss (log scale)", title="loss", yscale="log")
    ax_loss.legend()
    pts = [(r["epoch"], r["val_centre_error"]) for r in epochs if r.get("val_centre_error") is not None]
    if pts:
        ax_err.plot(*zip(*pts, strict=True), "s-", color="tab:orange")
    ax_err.set(xlabel="epoch (0 = untrained)", ylabel="pixels (search crop)", title="validation centre error")
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
