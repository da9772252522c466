"""Training checkpoints and exported weights, written atomically (temporary file, fsync, ``os.replace``).

A crash or ``kill -9`` at any moment leaves either the previous file or the new one, never a torn one.

- ``checkpoint.pt``: everything a resumed run needs to continue exactly: model, optimiser, scheduler and
  AMP scaler states, epochs done (= the sampler epoch to continue with), the RNG states of torch (CPU and
  CUDA), numpy and python, the configuration and the history of logged figures. A checkpoint written inside an
  epoch (``--checkpoint-every-steps``) also holds ``step`` (steps done in the epoch), ``partial`` (each rank's
  sums of the epoch so far) and, as ``rng``, the RNG states of the epoch's start.
- ``weights.pt``: the file the tracker loads: ``{"architecture": ..., "state_dict": ...}``, the network's
  :attr:`~siamfc.model.net.SiamFCNet.architecture` record and its state dict. A checkpoint records the
  architecture too. Files without one (plain state dicts written before) are read as the AlexNet network.

Every file holds only tensors and plain Python values (the numpy RNG state is stored as a tensor), so all
loads use ``torch.load(..., weights_only=True)``: loading a file never runs code from it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siamfc.curate.atomic import atomic_write
from siamfc.curate.errors import UserError

CHECKPOINT_FILE = "checkpoint.pt"
WEIGHTS_FILE = "weights.pt"
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "epoch")


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` into ``path`` atomically (:func:`siamfc.curate.atomic.atomic_write`)."""
    with atomic_write(path, "wb") as f:
        torch.save(obj, f)
    return Path(path)


def rng_state() -> dict[str, Any]:
    """The global RNG states of python, numpy and torch (CPU and every CUDA device)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (CUDA states only where CUDA is present)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def save_checkpoint(path: str | Path, **state: Any) -> Path:
    """Write a training checkpoint: ``model``, ``optimizer``, ``scheduler``, ``epoch`` and any further
    plain entries (``scaler``, ``config``, ``history``); the RNG states of now are added unless ``rng`` is given."""
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    if missing:
        raise UserError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return atomic_save({"rng": rng_state(), **state}, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint onto the CPU; ValueError naming the file when it is not one."""
    obj = _load(path)
    if not isinstance(obj, dict) or any(k not in obj for k in CHECKPOINT_KEYS):
        raise UserError(f"{path}: not a siamfc training checkpoint")
    return obj


def save_weights(path: str | Path, model: torch.nn.Module) -> Path:
    """Export ``model``'s state dict (on the CPU) with its ``architecture`` record."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return atomic_save({"architecture": dict(model.architecture), "state_dict": state}, path)


def read_weights_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """``(state dict, architecture record or None)`` from exported weights, a training checkpoint or a plain
    state dict (DDP ``module.`` prefixes removed); ValueError naming the file when it is none of them."""
    obj = _load(path)
    architecture = None
    if isinstance(obj, dict) and "model" in obj and "optimizer" in obj:  # a training checkpoint
        obj, architecture = obj["model"], obj.get("architecture")
    elif isinstance(obj, dict) and set(obj) == {"architecture", "state_dict"}:  # exported weights
        obj, architecture = obj["state_dict"], obj["architecture"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{path}: neither a state dict nor a siamfc training checkpoint")
    if architecture is not None and not isinstance(architecture, dict):
        raise UserError(f"{path}: its architecture record is not a mapping")
    return {k.removeprefix("module."): v for k, v in obj.items()}, architecture


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The model state dict of any file :func:`read_weights_file` reads."""
    return read_weights_file(path)[0]


def _load(path: str | Path) -> Any:
    """``torch.load`` onto the CPU; FileNotFoundError / ValueError naming the file when it cannot be one."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file (0 bytes), not a torch file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types, some without a message, for corrupt or foreign files
        detail = (str(err).strip().splitlines() or [""])[0].split(". ")[0][:200]
        raise UserError(f"{path}: unreadable, not a torch file ({type(err).__name__}"
                        + (f": {detail})" if detail else ")")) from None
