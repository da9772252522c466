"""Which curations the pair stream draws from, and how often: :class:`CurationShare`, importable without torch.

A mix is a sequence of shares; pair ``i`` comes from share ``k`` with probability ``weight_k / sum(weights)``
(:mod:`.pairs`). On the command line a share is ``PATH``, ``PATH:WEIGHT`` or ``PATH:WEIGHT:MAX_GAP``
(:meth:`CurationShare.parse`); in a run's ``config.json`` it is a JSON object (:func:`shares_to_json`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siamfc.curate.config_checks import check_fields, is_finite, is_whole

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)


@dataclass(frozen=True)
class CurationShare:
    """One curation of a mix: its folder, its weight and, optionally, its own largest frame gap."""

    root: Path
    weight: float = 1.0  # relative: the curation's share of pairs is weight / sum of the mix's weights
    max_gap: int | None = None  # largest exemplar-search frame distance here; None: SamplerConfig.max_gap

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        check_fields(self, [
            ("weight", is_finite(self.weight) and self.weight > 0, "a finite number above 0"),
            ("max_gap", self.max_gap is None or is_whole(self.max_gap, 1), "unset or an integer of at least 1"),
        ])

    @classmethod
    def parse(cls, text: str) -> CurationShare:
        """``PATH``, ``PATH:WEIGHT`` or ``PATH:WEIGHT:MAX_GAP``. Fields are read from the right and only numbers
        count as fields, so a path with a colon in it stays whole (``runs/a:b`` is a path). ValueError naming
        ``text`` and the problem, in one line."""
        fields = text.split(":")
        n = 0  # trailing number fields: weight, then weight and gap
        while n < 2 and n < len(fields) - 1 and _NUMBER.fullmatch(fields[-1 - n]):
            n += 1
        root, values = ":".join(fields[:len(fields) - n]), fields[len(fields) - n:]
        try:
            weight = float(values[0]) if values else 1.0
            gap = _whole(values[1]) if len(values) > 1 else None
            if not root:
                raise ValueError("no curation folder given")
            return cls(Path(root), weight, gap)
        except ValueError as err:
            problem = str(err).removeprefix("CurationShare.")
            raise ValueError(f"curation {text!r} (PATH[:WEIGHT[:MAX_GAP]]): {problem}") from None

    def describe(self, default_gap: int) -> str:
        """``ROOT (weight W, max gap G)``."""
        return f"{self.root} (weight {self.weight:g}, max gap {self.gap(default_gap)})"

    def gap(self, default: int) -> int:
        """This curation's largest frame gap: its own, else ``default`` (the sampler's)."""
        return self.max_gap if self.max_gap is not None else default

    def to_json(self) -> dict[str, Any]:
        """The share as a JSON object (the root as a string)."""
        return {"root": str(self.root), "weight": self.weight, "max_gap": self.max_gap}

    @classmethod
    def from_json(cls, value: str | dict[str, Any]) -> CurationShare:
        """What :meth:`to_json` wrote, or a plain path (a run's ``config.json`` before mixes)."""
        if isinstance(value, str):
            return cls(Path(value))
        if not isinstance(value, dict) or not isinstance(value.get("root"), str):
            raise ValueError(f"a curation must be a path or an object with a root path, got {value!r}")
        return cls(Path(value["root"]), value.get("weight", 1.0), value.get("max_gap"))


def _whole(text: str) -> int:
    """An integer field; ValueError naming the gap otherwise."""
    value = float(text)
    if not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"max_gap must be an integer of at least 1, got {text!r}")
    return int(value)


Curations = str | Path | CurationShare | Sequence[str | Path | CurationShare]
"""What a pair dataset or a training run takes as its data: one curation (a path weighs 1) or a mix."""


def as_shares(data: Curations) -> tuple[CurationShare, ...]:
    """``data`` as a non-empty tuple of shares (a plain path is a share of weight 1 and the sampler's gap)."""
    items = [data] if isinstance(data, str | Path | CurationShare) else list(data)
    if not items:
        raise ValueError("no curation given: a mix needs at least one")
    return tuple(d if isinstance(d, CurationShare) else CurationShare(Path(d)) for d in items)


def shares_to_json(shares: Sequence[CurationShare]) -> list[dict[str, Any]]:
    """A mix as a JSON list, as a run's ``config.json`` and checkpoint keep it."""
    return [s.to_json() for s in shares]


def shares_from_json(value: Any) -> tuple[CurationShare, ...]:
    """What :func:`shares_to_json` wrote, or one plain path (``config.json`` before mixes); ValueError otherwise."""
    if isinstance(value, list) and value:
        return tuple(CurationShare.from_json(v) for v in value)
    if isinstance(value, str | dict):
        return (CurationShare.from_json(value),)
    raise ValueError(f"curations must be a path or a non-empty list of them, got {value!r}")
