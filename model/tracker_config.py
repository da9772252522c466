"""SiamFC's inference hyper-parameters as one dataclass; the command-line options are generated from its fields.

Kept apart from :mod:`.tracker` so that reading it (``siamfc track --help``) does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from siamfc.curate.config_checks import check_fields, check_types, is_finite, is_whole
from siamfc.curate.geometry import CONTEXT

BACKENDS = ("torch", "onnxruntime", "onnxruntime-int8")  # what runs the network (model/inference.py, onnx_engine.py)


def _option(default: float, text: str) -> float:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TrackerConfig:
    """SiamFC's inference hyper-parameters; defaults are the paper's (3-scale AlexNet version).

    Every field is checked on construction: ValueError naming the first one out of range (``TrackerConfig.scales``).
    """

    scales: int = _option(3, "number of search scales, odd (SiamFC-5 uses 5)")
    scale_step: float = _option(1.0375, "ratio between consecutive search scales")
    scale_penalty: float = _option(0.9745, "factor on the peak of every non-central scale")
    scale_lr: float = _option(0.59, "learning rate of the scale update")
    window_influence: float = _option(0.176, "weight of the Hann window in the final map")
    response_up: int = _option(16, "bicubic upsampling factor of the response map")
    context: float = _option(CONTEXT, "context margin as a fraction of w + h, as in curation")
    min_scale: float = _option(0.2, "s_x never shrinks below this fraction of its first value")
    max_scale: float = _option(5.0, "... nor grows beyond this multiple of it")

    def __post_init__(self) -> None:
        check_types(self)  # every field of its annotated type first (an int field takes no 3.0)
        check_fields(self, self._checks())

    def _checks(self) -> list[tuple[str, bool, str]]:
        """``(field, valid, what a valid value is)`` for every field."""
        return [
            ("scales", is_whole(self.scales, 1) and self.scales % 2 == 1, "a positive odd number"),
            ("scale_step", is_finite(self.scale_step) and self.scale_step > 1, "a finite number above 1"),
            ("scale_penalty", is_finite(self.scale_penalty) and 0 < self.scale_penalty <= 1, "in (0, 1]"),
            ("scale_lr", is_finite(self.scale_lr) and 0 <= self.scale_lr <= 1, "in [0, 1]"),
            ("window_influence", is_finite(self.window_influence) and 0 <= self.window_influence <= 1, "in [0, 1]"),
            ("response_up", is_whole(self.response_up, 1), "an integer of at least 1"),
            ("context", is_finite(self.context) and self.context > 0, "a finite number above 0"),
            ("min_scale", is_finite(self.min_scale) and 0 < self.min_scale <= 1, "in (0, 1]"),
            ("max_scale", is_finite(self.max_scale) and self.max_scale >= 1, "a finite number of at least 1"),
        ]

    @classmethod
    def options(cls) -> list[tuple[str, type, object, str]]:
        """``(field name, type, default, help)`` of every field, for building command-line options."""
        return [(f.name, type(f.default), f.default, f.metadata["help"]) for f in fields(cls)]
