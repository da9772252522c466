"""Training SiamFC from curated LMDB shards (one curation or a weighted mix of them, :mod:`siamfc.pipeline.mix`):
the loop (SGD with a geometric learning-rate decay, validation each epoch, a checkpoint each epoch and, with
``checkpoint_every_steps``, every K steps inside one) and exact resumption, from an epoch's end or from a step;
one process (CPU or CUDA) or many under ``torchrun``.

The run folder ``out`` holds ``config.json`` (:mod:`.train_config`), ``checkpoint.pt`` (latest; see
:mod:`.checkpoint`), ``weights.pt`` (what the tracker loads) and the logs and loss plot of :mod:`.train_log`. The
process's parts (device, pair loaders, network, optimiser, step) come from :mod:`.train_setup`.

Determinism: the sampler's pairs depend only on its seed, the epoch and the rank, and every RNG state is
saved with each checkpoint, so on the CPU with ``num_workers=0`` a resumed run ends with exactly the
parameters of an uninterrupted one. ``batch_size`` is per process; under ``torchrun`` the sampler shards
``pairs_per_epoch`` over the ranks, gradients are averaged by DistributedDataParallel and only rank 0 writes
files. All ranks restore rank 0's RNG states on resume (the sampler does not draw from them).
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from siamfc.curate.atomic import writable_folder, write_json_atomic
from siamfc.curate.config_checks import is_whole
from siamfc.curate.errors import CurationError, UserError
from siamfc.pipeline.mix import (
    Curations,
    CurationShare,
    as_shares,
    follow,
    identified,
    match_mix,
    shares_from_json,
    shares_to_json,
)
from siamfc.pipeline.ranks import DistInfo, resolve_rank

from . import distributed as dist
from .checkpoint import (
    CHECKPOINT_FILE,
    WEIGHTS_FILE,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from .head import response_peaks
from .inference import resolve_device
from .loss import pair_losses
from .train_config import CONFIG_FILE, TrainConfig, config_differences
from .train_log import epoch_summary, write_logs
from .train_setup import (
    autocast,
    build_learner,
    check_network,
    make_loader,
    open_pairs,
    to_device,
    train_step,
)

RESUME_KEYS = ("config", "history", "rng")  # what a resumed run needs beyond the checkpoint's own keys
RESUME_MODES = (False, True, "auto")
EPOCH_START = {"step": 0, "loss_sum": 0.0, "pairs": 0, "wait": 0.0, "logged": 0, "logged_loss": 0.0, "seconds": 0.0}


def train(data: Curations, out: str | Path, config: TrainConfig | None = None, *, resume: bool | str = False,
          stop_after: int | None = None, val_data: Curations | None = None) -> list[dict[str, Any]]:
    """Train on ``data`` (a curation folder, or a mix: :class:`~siamfc.pipeline.mix.CurationShare` values) into run
    folder ``out`` (``config`` default: ``TrainConfig()``); returns the per-epoch log.

    ``resume``: False starts a run (refused where ``out`` holds a checkpoint); True continues the run saved in
    ``out`` (its options must match ``config`` except :data:`~.train_config.RUNTIME_FIELDS`); ``"auto"`` continues it
    when ``out`` holds a checkpoint, else starts it (what a job relaunched with the same command line needs). A
    resumed run finds its curations by identity among ``data``, wherever their folders are now, and validates on
    its recorded validation mix (moved with them) unless ``val_data`` is given. ``stop_after`` ends this call once
    that many epochs are done in total (for time-limited jobs); the learning-rate schedule still spans
    ``config.epochs``. Validation pairs come from ``val_data`` (default ``data``, the same mix), splits
    ``config.val_splits``.

    Under ``torchrun`` every rank leaves together: the process group is torn down only once all ranks are done.
    """
    config = config if config is not None else TrainConfig()
    if resume not in RESUME_MODES:
        raise UserError(f"resume must be one of {', '.join(map(repr, RESUME_MODES))}, got {resume!r}")
    shares = as_shares(data)
    val_shares = as_shares(val_data) if val_data is not None else None
    check_network(config)
    if stop_after is not None and not is_whole(stop_after, 1):
        raise UserError(f"stop_after must be an integer of at least 1, got {stop_after!r}")
    info = resolve_rank()
    device = resolve_device(config.device, info.local_rank)
    created = dist.setup(info, device.type == "cuda")
    run, finished = None, False
    try:
        run = _Run(shares, Path(out), config, info, device, resume, val_shares)
        history = run.run(stop_after)
        finished = True
        return history
    finally:
        if run is not None:
            run.close()
        del run
        dist.teardown(created, finished)


class _Run:
    """One process's share of a training run."""

    def __init__(self, data: tuple[CurationShare, ...], out: Path, config: TrainConfig, info: DistInfo,
                 device: torch.device, resume: bool | str, val_data: tuple[CurationShare, ...] | None) -> None:
        self.out, self.config, self.info, self.device = out, config, info, device
        checkpoint = dist.broadcast(self._read_checkpoint(resume) if info.is_main else None, info)
        if isinstance(checkpoint, Exception):
            raise checkpoint
        self.data, self.val_data = self._curations(data, val_data, checkpoint)
        # the data first, so that a bad --data leaves no trace in the run folder
        self.train_set, self.val_set = open_pairs(self.data, self.val_data, config, info)
        self.train_loader = make_loader(self.train_set, config, device)
        self.val_loader = make_loader(self.val_set, config, device) if self.val_set is not None else None
        error = dist.broadcast(self._prepare_folder(checkpoint is not None) if info.is_main else None, info)
        if error is not None:
            raise error
        self.model, self.optimizer, self.scheduler, self.scaler, self.amp = build_learner(config, device)
        self.epoch, self.history = 0, {"epochs": [], "steps": []}
        self.partial: dict[str, Any] | None = None  # this rank's sums of the epoch so far, from a step checkpoint
        if checkpoint is not None:
            try:
                self._restore(checkpoint)
            except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as err:
                detail = (str(err).strip().splitlines() or [""])[0][:200]
                raise UserError(f"{out / CHECKPOINT_FILE}: cannot restore the run from this checkpoint "
                                f"({type(err).__name__}: {detail})") from None
        self.ddp = (DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
                    if info.enabled else self.model)

    def close(self) -> None:
        """Drop the DDP wrapper (its reducer holds the process group) and the loaders before the group goes."""
        for name in ("ddp", "train_loader", "val_loader", "train_set", "val_set"):
            self.__dict__.pop(name, None)
        gc.collect()

    # -- resumption ------------------------------------------------------------------------------------------
    def _read_checkpoint(self, resume: bool | str) -> dict[str, Any] | Exception | None:
        """Rank 0: the checkpoint to resume from, None for a fresh run, or the error to raise on every rank.
        Writes nothing."""
        path = self.out / CHECKPOINT_FILE
        try:
            if resume == "auto":
                resume = os.path.lexists(path)
                if not resume:
                    self._check_no_other_run()
            if resume and not path.is_file():
                raise FileNotFoundError(f"{path}: no checkpoint to resume; start the run without --resume")
            if not resume and path.exists():
                raise FileExistsError(f"{path}: the run folder already holds a run; pass --resume to "
                                      "continue it or choose another --out")
            return self._resumable(path) if resume else None
        except (OSError, ValueError) as err:
            return err

    def _check_no_other_run(self) -> None:
        """A run folder without a checkpoint may still hold the ``config.json`` of a run that never finished an
        epoch: refused (naming the differences) when it is another run's; that of this run is started again."""
        path = self.out / CONFIG_FILE
        if not path.is_file():
            return
        try:
            saved = TrainConfig.from_json(json.loads(path.read_text()))
        except (OSError, TypeError, ValueError):
            return  # unreadable: a run that never finished an epoch leaves nothing worth keeping
        diff = config_differences(saved, self.config)
        if diff:
            raise UserError(f"{path}: the run folder holds another run, started with other options "
                            f"({'; '.join(diff)}); resume it with those or choose another --out")

    def _resumable(self, path: Path) -> dict[str, Any]:
        """The checkpoint at ``path``, checked to continue this run; ValueError naming it otherwise."""
        checkpoint = load_checkpoint(path)
        missing = [k for k in RESUME_KEYS if k not in checkpoint]
        if missing:
            raise UserError(f"{path}: the checkpoint lacks {', '.join(missing)}; it was not written by siamfc train")
        try:
            saved = TrainConfig.from_json(checkpoint["config"])
        except (TypeError, ValueError) as err:
            raise UserError(f"{path}: the checkpoint's configuration is unusable ({err})") from None
        diff = config_differences(saved, self.config)
        if diff:
            raise UserError(f"{path}: the run was started with other options ({'; '.join(diff)}); "
                            "resume with the same ones")
        if checkpoint.get("val_data") is None:  # checkpoints before the validation mix was kept in them
            try:
                checkpoint["val_data"] = json.loads((self.out / CONFIG_FILE).read_text()).get("val_data")
            except (OSError, ValueError, AttributeError):
                checkpoint["val_data"] = None
        return checkpoint

    def _curations(self, data: tuple[CurationShare, ...], val_data: tuple[CurationShare, ...] | None,
                   checkpoint: dict[str, Any] | None) -> tuple[tuple[CurationShare, ...], tuple[CurationShare, ...]]:
        """The training and validation mixes with their curations' identities. A resumed run finds the mixes it
        recorded among those given, by identity, weight and gap (:func:`~siamfc.pipeline.mix.match_mix`); its
        validation mix follows the training curations to their folders unless ``val_data`` is given."""
        shares = self._identified(data, "--data")
        if checkpoint is None:
            return shares, self._identified(val_data, "--val-data") if val_data is not None else shares
        where = f"{self.out / CHECKPOINT_FILE}: "
        try:
            recorded = shares_from_json(checkpoint["data"]) if checkpoint.get("data") is not None else None
            mix = match_mix(recorded, shares, "--data") if recorded is not None else shares
            recorded_val = (shares_from_json(checkpoint["val_data"]) if checkpoint.get("val_data") is not None
                            else None)
            if val_data is not None:
                val_shares = self._identified(val_data, "--val-data")
                return mix, match_mix(recorded_val, val_shares, "--val-data") if recorded_val else val_shares
            if recorded_val is None:
                return mix, mix
        except ValueError as err:
            raise UserError(where + str(err)) from None
        val = follow(recorded_val, mix)
        for share, now in zip(val, self._identified(val, "--val-data"), strict=True):
            if share.identity is not None and now.identity != share.identity:
                raise UserError(f"{where}{share.root} holds curation {now.identity}, but the run validated on "
                                f"curation {share.identity} there; pass --val-data with its folder")
        return mix, val

    def _identified(self, shares: tuple[CurationShare, ...], option: str) -> tuple[CurationShare, ...]:
        """``shares`` with their folders' identities; a folder that holds no curation is named, and on resume the
        error says how to give a moved one."""
        try:
            return identified(shares)
        except CurationError as err:
            if not (self.out / CHECKPOINT_FILE).exists():
                raise
            raise CurationError(f"{err} (if the run's curation moved, give its folder with {option})") from None

    def _prepare_folder(self, resumed: bool) -> Exception | None:
        """Rank 0, once the data is open: the run folder made writable; ``config.json`` written for a new run, its
        curations' folders brought up to date for a resumed one. The error to raise on every rank, else None."""
        try:
            writable_folder(self.out, "run folder")  # before any training: each epoch ends by writing here
            path = self.out / CONFIG_FILE
            mixes = {"data": shares_to_json(self.data), "val_data": shares_to_json(self.val_data)}
            if not resumed:
                write_json_atomic(path, {**mixes, **self.config.to_json()})
                return None
            try:
                stored = json.loads(path.read_text())
            except (OSError, ValueError):
                stored = None
            if isinstance(stored, dict) and any(stored.get(k) != v for k, v in mixes.items()):
                write_json_atomic(path, {**stored, **mixes})  # where the curations are now, for the next --resume
            return None
        except (OSError, ValueError) as err:
            return err

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        if checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.epoch = int(checkpoint["epoch"])
        self.history = checkpoint["history"]
        set_rng_state(checkpoint["rng"])
        if checkpoint.get("step"):  # a step checkpoint: each rank carries on with its own sums
            parts = checkpoint["partial"]
            if len(parts) != self.info.world_size:
                raise UserError(f"it was written in the middle of epoch {self.epoch + 1} by a job of {len(parts)} "
                                f"processes; resume it with {len(parts)}")
            self.partial = parts[self.info.rank]

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self, stop_after: int | None) -> list[dict[str, Any]]:
        config, main = self.config, self.info.is_main
        end = min(config.epochs, stop_after) if stop_after is not None else config.epochs
        if self.epoch == 0 and not self.history["epochs"] and self.val_loader is not None:
            self.history["epochs"].append({"epoch": 0, **self.validate()})  # the untrained baseline
            self._say(epoch_summary(self.history["epochs"][-1]))
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
            self._say(epoch_summary(record))
        return self.history["epochs"]

    def train_epoch(self) -> dict[str, float]:
        """One pass over this epoch's pairs; loss, throughput and data-wait share summed over ranks. A run resumed
        from a step checkpoint skips the batches trained on before it (the same stream, in order) and carries on with
        this rank's sums as they were; with ``checkpoint_every_steps`` K, every K-th step ends with one."""
        config = self.config
        self.train_set.set_epoch(self.epoch)
        self.ddp.train()
        steps = len(self.train_loader)
        part, self.partial = self.partial or EPOCH_START, None
        rng = rng_state()  # before iter(): a DataLoader draws its base seed from the global RNG
        bar = tqdm(total=steps, initial=part["step"], desc=f"epoch {self.epoch + 1}/{config.epochs}", unit="batch",
                   dynamic_ncols=True, disable=not (config.progress and self.info.is_main))
        loss_sum = torch.tensor(part["loss_sum"], dtype=torch.float64, device=self.device)
        pairs, wait, logged, logged_loss, step = (part[k] for k in ("pairs", "wait", "logged", "logged_loss", "step"))
        it = iter(self.train_loader)
        for _ in range(step):  # trained on before the step checkpoint this run resumed from
            next(it)
        start = time.perf_counter() - part["seconds"]
        # no DDP join(): every rank has the same number of batches (the sampler's sharding), and join() would send an
        # all-reduce per forward pass that nobody waits for (see .distributed on ending cleanly)
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
            if config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0 and step < steps:
                self._save_step(rng, {"step": step, "loss_sum": loss_sum.item(), "pairs": pairs, "wait": wait,
                                      "logged": logged, "logged_loss": logged_loss,
                                      "seconds": time.perf_counter() - start})
        seconds = time.perf_counter() - start
        if pairs > logged:
            self._log_steps(loss_sum, logged_loss, pairs, logged, step, steps, bar, start)
        bar.close()
        total_loss, total_pairs, total_wait = dist.all_sum([loss_sum.item(), pairs, wait], self.info, self.device)
        return {"train_loss": total_loss / max(total_pairs, 1), "pairs": int(total_pairs), "seconds": seconds,
                "pairs_per_s": total_pairs / seconds, "data_wait_share": total_wait / self.info.world_size / seconds}

    def _log_steps(self, loss_sum: torch.Tensor, logged_loss: float, pairs: int, logged: int, step: int,
                   steps: int, bar: tqdm, start: float) -> tuple[float, int]:
        """Record the mean loss since the last record (one device sync) and refresh the progress bar."""
        total = loss_sum.item()
        mean = (total - logged_loss) / (pairs - logged)
        if not math.isfinite(mean):
            raise FloatingPointError(f"training loss became {mean} at epoch {self.epoch + 1}, step {step}; "
                                     "lower the learning rate")
        self.history["steps"].append([self.epoch + step / steps, mean])
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
            peaks = response_peaks(logits, self.model.total_stride, self.config.val_upsample)
            errors = (peaks - target.float()).norm(dim=1)
            sums[0] += pair_losses(logits, label, weight).sum().item()
            sums[1] += errors.sum().item()
            sums[2] += len(z)
        model.train()
        loss, error, n = dist.all_sum(sums, self.info, self.device)
        return {"val_loss": loss / n, "val_centre_error": error / n}

    # -- output ----------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        """What every checkpoint holds besides the RNG states and the position in the epoch."""
        return dict(model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
                    scheduler=self.scheduler.state_dict(), scaler=self.scaler.state_dict(), epoch=self.epoch,
                    config=self.config.to_json(), history=self.history, data=shares_to_json(self.data),
                    val_data=shares_to_json(self.val_data), architecture=self.model.architecture)

    def _save_step(self, rng: dict[str, Any], part: dict[str, Any]) -> None:
        """A checkpoint inside the epoch (every rank takes part: rank 0 keeps each rank's sums so far), holding
        the RNG states of the epoch's start (``rng``) and the number of steps done."""
        parts = dist.gather(part, self.info)
        if self.info.is_main:
            save_checkpoint(self.out / CHECKPOINT_FILE, **self._state(), rng=rng, step=part["step"], partial=parts)

    def _save(self) -> None:
        """Checkpoint, weights, logs and plot of the epoch just finished (rank 0)."""
        path = save_checkpoint(self.out / CHECKPOINT_FILE, **self._state())
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
        """A summary line, from rank 0 (``progress`` only hides the bars)."""
        if self.info.is_main:
            tqdm.write(line)
