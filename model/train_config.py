"""Training options (:class:`TrainConfig`), their checks and JSON form, and what follows from them alone.

Importable without torch, so that the CLI can build and check a configuration before loading the trainer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from siamfc.curate.config_checks import check_fields, is_finite, is_whole
from siamfc.curate.config_json import from_json, to_json
from siamfc.pipeline.sampler_config import AUGMENT_ON, MAX_TRANSLATE_LIMIT, SamplerConfig

CONFIG_FILE = "config.json"  # in the run folder when a run starts: the configuration plus its curations (mix.py)
# Options that may differ between a run and its resumption (they do not change what is computed on the CPU).
RUNTIME_FIELDS = ("device", "amp", "num_workers", "augment_on", "log_every", "keep_every", "checkpoint_every_steps",
                  "progress", "intact_only")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """Training options; defaults are the paper's (50 epochs of 50,000 pairs, batch 8, lr 1e-2 -> 1e-5).

    Every field is checked on construction: ValueError naming the first one out of range (``TrainConfig.epochs``).
    That ``backbone`` is registered and its cells tile the sampler's crop sizes is checked where the network is built
    (:func:`siamfc.model.train_setup.check_network`): the backbone's description needs torch, this module does not.
    """

    backbone: str = "alexnet"  # the network: a name in siamfc.model.backbone.BACKBONES (its stride sizes the labels)

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
    checkpoint_every_steps: int = 0  # also checkpoint every K steps inside an epoch (0 = at epochs' ends only)
    progress: bool = True
    intact_only: bool = False  # train on the intact shards of a curation with damaged ones (else refuse)

    @property
    def lr_gamma(self) -> float:
        """Per-epoch decay factor: ``(lr_final / lr_initial) ** (1 / (epochs - 1))``."""
        return (self.lr_final / self.lr_initial) ** (1 / (self.epochs - 1)) if self.epochs > 1 else 1.0

    def __post_init__(self) -> None:
        check_fields(self, self._checks())

    def _checks(self) -> list[tuple[str, bool, str]]:
        """``(field, valid, what a valid value is)`` for every option (the sampler checks its own values)."""
        return [
            ("backbone", isinstance(self.backbone, str) and self.backbone != "",
             "a backbone's name (siamfc.model.backbone.BACKBONES)"),
            ("epochs", is_whole(self.epochs, 1), "an integer of at least 1"),
            ("batch_size", is_whole(self.batch_size, 1), "an integer of at least 1"),
            ("lr_initial", is_finite(self.lr_initial) and self.lr_initial > 0, "a finite number above 0"),
            ("lr_final", is_finite(self.lr_final) and self.lr_final > 0, "a finite number above 0"),
            ("momentum", is_finite(self.momentum) and 0 <= self.momentum < 1, "in [0, 1)"),
            ("weight_decay", is_finite(self.weight_decay) and self.weight_decay >= 0, "a finite number, 0 or more"),
            ("train_splits", _names(self.train_splits), "a tuple of one or more split names"),
            ("val_splits", _names(self.val_splits), "a tuple of one or more split names"),
            ("val_pairs", is_whole(self.val_pairs, 0), "an integer, 0 or more"),
            ("val_max_translate", self.val_max_translate is None
             or is_whole(self.val_max_translate, 0) and self.val_max_translate <= MAX_TRANSLATE_LIMIT,
             f"an integer in [0, {MAX_TRANSLATE_LIMIT}]"),
            ("val_upsample", is_whole(self.val_upsample, 1), "an integer of at least 1"),
            ("seed", is_whole(self.seed, 0) and self.seed < 2**32, "an integer in [0, 2**32)"),  # numpy's seed range
            ("device", self.device in DEVICES, f"one of {', '.join(DEVICES)}"),
            ("amp", self.amp is None or isinstance(self.amp, bool), "on, off or unset"),
            ("num_workers", self.num_workers is None or is_whole(self.num_workers, 0), "an integer, 0 or more"),
            ("augment_on", self.augment_on in AUGMENT_ON, f"one of {', '.join(AUGMENT_ON)}"),
            ("log_every", is_whole(self.log_every, 1), "an integer of at least 1"),
            ("keep_every", is_whole(self.keep_every, 0), "an integer, 0 or more"),
            ("checkpoint_every_steps", is_whole(self.checkpoint_every_steps, 0), "an integer, 0 or more"),
            ("sampler", isinstance(self.sampler, SamplerConfig), "a SamplerConfig"),
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able values (the sampler as a nested dict)."""
        return to_json(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrainConfig:
        """The config :meth:`to_json` wrote (keys no longer known are ignored)."""
        return from_json(cls, d)


def _names(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) > 0 and all(isinstance(v, str) and v for v in value)


def config_differences(saved: TrainConfig, given: TrainConfig) -> list[str]:
    """Options other than :data:`RUNTIME_FIELDS` whose values differ, as ``name: saved vs given``."""
    a, b = saved.to_json(), given.to_json()
    return [f"{k}: {a[k]!r} vs {b[k]!r}" for k in a if k not in RUNTIME_FIELDS and a[k] != b.get(k)]


def val_sampler(config: TrainConfig) -> SamplerConfig:
    """Validation pairs: ``val_pairs`` of them, the training records and target shifts (``val_max_translate``
    overrides the shift range), no stretch, flip, grayscale or colour jitter."""
    s = config.sampler
    shift = s.max_translate if config.val_max_translate is None else config.val_max_translate
    return dataclasses.replace(s, pairs_per_epoch=max(config.val_pairs, 1), max_translate=shift, exemplar_stretch=0.0,
                               search_stretch=0.0, flip=0.0, grayscale=0.0, color_jitter=0.0)
