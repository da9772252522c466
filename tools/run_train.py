"""`siamfc train`: the work (options in :mod:`.cmd_train`): the run's configuration from the command line, or from
the run folder on ``--resume``, then the trainer (:func:`siamfc.model.train.train`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, NamedTuple

from siamfc.curate.errors import UserError
from siamfc.model.checkpoint import WEIGHTS_FILE
from siamfc.model.train import train
from siamfc.model.train_config import CONFIG_FILE, TrainConfig
from siamfc.pipeline.mix import CurationShare, shares_from_json
from siamfc.pipeline.ranks import resolve_rank

from .cmd_train import SHARE, TRAIN_OPTIONS, _sampler_fields, with_option_names


class SavedRun(NamedTuple):
    """What ``RUN/config.json`` holds: the configuration and the curations (None where it names none)."""

    config: TrainConfig
    data: tuple[CurationShare, ...] | None
    val_data: tuple[CurationShare, ...] | None


def saved_run(out: Path) -> SavedRun:
    """The configuration and the curations of the run in ``out`` (a plain path where the run predates mixes);
    errors name ``RUN/config.json``."""
    saved = out / CONFIG_FILE
    if not saved.is_file():
        raise FileNotFoundError(f"{saved}: no run to resume here; start it without --resume")
    try:
        stored = json.loads(saved.read_text())
        if not isinstance(stored, dict):
            raise ValueError("not a JSON object")
        data, val_data = (shares_from_json(stored[k]) if stored.get(k) is not None else None
                          for k in ("data", "val_data"))
        return SavedRun(TrainConfig.from_json(stored), data, val_data)
    except (OSError, TypeError, ValueError) as err:  # JSON and UTF-8 decoding errors are ValueErrors
        raise UserError(f"{saved}: not a usable run configuration ({err})") from None


def parse_shares(args: argparse.Namespace) -> tuple[tuple[CurationShare, ...] | None, CurationShare | None]:
    """The curations of ``--data`` and ``--val-data`` (None where not given); ValueError naming the option."""
    data = tuple(_parse_share("--data", t) for t in args.data) if args.data else None
    val_data = _parse_share("--val-data", args.val_data) if args.val_data is not None else None
    return data, val_data


def _parse_share(option: str, text: str) -> CurationShare:
    """One share of the command line; where ``text`` was split into PATH:WEIGHT and no such folder exists, the
    error says how it was read."""
    try:
        share = CurationShare.parse(text)
    except ValueError as err:
        raise UserError(f"{option}: {err}") from None
    if not share.root.exists() and share.root != Path(text):  # a weight (and gap) were split off
        raise UserError(f"{option}: curation {text!r} (PATH[:WEIGHT[:MAX_GAP]]): read as {share.reading()}, "
                        f"but neither {share.root} nor {text} exists")
    return share


def build_config(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    """``base`` with every option given on the command line applied; ValueError naming the first bad option."""
    try:
        return _apply(args, base)
    except ValueError as err:  # the options' values: the user's to fix
        raise UserError(str(with_option_names(err))) from None


def _apply(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    given: dict[str, Any] = {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}
    for k in ("train_splits", "val_splits", "amp"):
        if getattr(args, k) is not None:
            given[k] = tuple(getattr(args, k)) if k.endswith("splits") else getattr(args, k)
    if args.no_progress:
        given["progress"] = False
    if args.intact_only:
        given["intact_only"] = True
    sampler = {f.name: getattr(args, f"sampler_{f.name}") for f in _sampler_fields()
               if getattr(args, f"sampler_{f.name}") is not None}
    if args.seed is not None:
        sampler["seed"] = args.seed
    return dataclasses.replace(base, **given, sampler=dataclasses.replace(base.sampler, **sampler))


def cmd_train(args: argparse.Namespace) -> None:
    """Start, resume or continue (``--resume auto``) the run the options describe, in ``--out``."""
    out = Path(args.out)
    base, (data, val_data) = TrainConfig(), parse_shares(args)
    if args.stop_after is not None and args.stop_after < 1:
        raise UserError(f"--stop-after must be at least 1, got {args.stop_after}")
    if args.resume is True:  # the run's own options and curations, where not given
        saved = saved_run(out)
        base = dataclasses.replace(saved.config, progress=True)
        data = data or saved.data
    if data is None:
        raise UserError(f"--data {SHARE} is required for a new run" + (
            " and with --resume auto" if args.resume == "auto" else ""))
    config = build_config(args, base)
    try:
        history = train(data, out, config, resume=args.resume, stop_after=args.stop_after, val_data=val_data)
    except ValueError as err:  # the trainer's checks name config fields: say which options set them
        raise with_option_names(err) from None
    last = history[-1] if history else {}
    if last and resolve_rank().is_main:
        err = last.get("val_centre_error")
        print(f"run {out}: {last['epoch']} epochs done"
              + (f", validation centre error {err:.1f} px" if err is not None else "")
              + f"; weights in {out / WEIGHTS_FILE}", flush=True)
