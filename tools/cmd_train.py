"""`siamfc train`: SiamFC training from curated shards, resumable; run it under ``torchrun`` for several GPUs.

``--data`` may be repeated to train on a mix of curations: ``--data vid --data got10k:2 --data coco:1:50`` draws
each pair from a curation with probability weight / sum of weights (``PATH[:WEIGHT[:MAX_GAP]]``, weight 1 and the
sampler's ``--max-gap`` by default).

Every :class:`~siamfc.pipeline.sampler_config.SamplerConfig` field is an option too (``--max-gap``, ``--max-translate``,
...), generated from the dataclass so the command follows the sampler. With ``--resume`` every option not given
takes the value the run was started with (``RUN/config.json``); its curations are found by identity, so their
folders may have moved (give them with ``--data``). ``--resume auto`` resumes when ``--out`` holds a checkpoint of
the run the command line describes and starts it otherwise: the form for ``torchrun --max-restarts``.

``--backbone`` picks the network from :data:`siamfc.model.backbone.BACKBONES` (default ``alexnet``, the paper's): its
stride and crop-size rules size the labels and are checked before training; ``config.json`` and the weights files
record it, and the tracker builds it from them.

This module declares the options (importing no torch, so that ``--help`` stays fast); :mod:`.run_train` does the work.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from siamfc.model.train_config import TrainConfig
from siamfc.pipeline.sampler_config import SamplerConfig

# TrainConfig field -> (flag, help); type and default come from the dataclass.
TRAIN_OPTIONS = {
    "backbone": ("--backbone", "the network's backbone, a name in siamfc.model.backbone.BACKBONES"),
    "epochs": ("--epochs", "epochs"),
    "batch_size": ("--batch-size", "pairs per step and process"),
    "lr_initial": ("--lr", "initial learning rate"),
    "lr_final": ("--lr-final", "learning rate of the last epoch (geometric decay per epoch)"),
    "momentum": ("--momentum", "SGD momentum"),
    "weight_decay": ("--weight-decay", "SGD weight decay"),
    "val_pairs": ("--val-pairs", "validation pairs per epoch (0: no validation)"),
    "val_max_translate": ("--val-max-translate", "validation target shift, pixels per axis (default: the sampler's)"),
    "val_upsample": ("--val-upsample", "response upsampling for the validation centre error"),
    "seed": ("--seed", "seed of the initialisation and of the sampler"),
    "device": ("--device", "auto, cpu or cuda"),
    "num_workers": ("--workers", "data-loading processes per training process (default: 0 on CPU, 8 per GPU)"),
    "augment_on": ("--augment-on", "where pairs are augmented: workers, device or auto (device on CUDA)"),
    "log_every": ("--log-every", "steps between progress-bar and loss-curve updates"),
    "keep_every": ("--keep-every", "also keep checkpoint-eNNN.pt every N epochs (0: only the latest)"),
    "checkpoint_every_steps": ("--checkpoint-every-steps", "also checkpoint every K steps within an epoch, so that a "
                               "resumed run continues mid-epoch (0: at each epoch's end only)"),
}
SHARE = "CURATION[:WEIGHT[:MAX_GAP]]"
SAMPLER_SKIP = {"seed"}  # --seed sets both seeds
OTHER_FLAGS = {"train_splits": "--train-split", "val_splits": "--val-split", "amp": "--amp",
               "sampler.seed": "--seed"}


def _sampler_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(SamplerConfig) if f.name not in SAMPLER_SKIP
            and isinstance(f.default, bool | int | float | str)]


def add_options(command: str, p: argparse.ArgumentParser) -> None:
    """The options of `siamfc train` on ``p`` (what :mod:`siamfc.tools.cli` calls); ``run`` is
    :func:`siamfc.tools.run_train.cmd_train`."""
    p.description, p.formatter_class = __doc__, argparse.RawDescriptionHelpFormatter
    p.add_argument("--data", action="append", metavar=SHARE,
                   help="curation folder (the shards), its weight in the mix (default 1) and its largest frame gap "
                        "(default --max-gap); repeat it for a mix of curations; required unless --resume")
    p.add_argument("--out", required=True, help="run folder: checkpoints, weights.pt, logs, loss.png")
    p.add_argument("--val-data", metavar=SHARE,
                   help="curation holding the validation split, its frame gap too (default: --data, the same mix)")
    p.add_argument("--val-split", dest="val_splits", action="append", help="validation split (default: val)")
    p.add_argument("--train-split", dest="train_splits", action="append", help="training split (default: train)")
    p.add_argument("--resume", nargs="?", const=True, default=False, type=_resume_mode, metavar="auto",
                   help="continue the run in --out from its last checkpoint (options not given: the run's own); "
                        "--resume auto: continue it when --out holds a checkpoint of the run the other options "
                        "describe, else start it (for jobs relaunched with the same command line, e.g. "
                        "torchrun --max-restarts)")
    p.add_argument("--stop-after", type=int, help="stop once this many epochs are done (the schedule keeps --epochs)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="automatic mixed precision (default: on for CUDA, off on the CPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the summary lines stay)")
    p.add_argument("--intact-only", action="store_true",
                   help="train on the intact shards of a curation with damaged ones (default: refuse, naming them)")
    defaults = TrainConfig()
    for name, (flag, text) in TRAIN_OPTIONS.items():
        default = getattr(defaults, name)
        kind = type(default) if default is not None else int
        p.add_argument(flag, dest=name, type=kind, default=None, metavar=name.upper(),
                       help=text if default is None else f"{text} (default {default})")
    group = p.add_argument_group("sampler options (SamplerConfig)")
    for f in _sampler_fields():
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            group.add_argument(flag, dest=f"sampler_{f.name}", action=argparse.BooleanOptionalAction, default=None,
                               help=f"default {f.default}")
        else:
            group.add_argument(flag, dest=f"sampler_{f.name}", type=type(f.default), default=None,
                               metavar=f.name.upper(), help=f"default {f.default}")
    p.set_defaults(run="siamfc.tools.run_train:cmd_train")


def _resume_mode(text: str) -> str:
    if text != "auto":
        raise argparse.ArgumentTypeError(f"--resume takes no value or 'auto', got {text!r}")
    return text


def option_name(field: str) -> str:
    """The option that sets config field ``field`` (``sampler.<name>`` for a sampler field), else ``field``."""
    if field in TRAIN_OPTIONS:
        return TRAIN_OPTIONS[field][0]
    name = field.removeprefix("sampler.")
    if field.startswith("sampler.") and name in {f.name for f in _sampler_fields()}:
        return "--" + name.replace("_", "-")
    return OTHER_FLAGS.get(field, field)


def with_option_names(err: ValueError) -> ValueError:
    """``err`` with the config fields it names (``TrainConfig.lr_initial``, ``SamplerConfig.max_gap``) written as
    the options that set them (``--lr``, ``--max-gap``); the same exception type."""
    text = re.sub(r"\bTrainConfig\.([\w.]+)", lambda m: option_name(m.group(1)), str(err))
    return type(err)(re.sub(r"\bSamplerConfig\.(\w+)", lambda m: option_name(f"sampler.{m.group(1)}"), text))
