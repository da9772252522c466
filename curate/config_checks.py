"""Checking a configuration dataclass's values on construction: the predicates and the one-line message.

Every stage's config (curation settings, sampler, training, tracker) lists ``(field, valid, what a valid value
is)`` and calls :func:`check_fields`, so a bad value is refused the same way everywhere:
``TrainConfig.epochs must be an integer of at least 1, got 0``.
"""

from __future__ import annotations

import math
from typing import Any


def is_whole(value: Any, minimum: int) -> bool:
    """``value`` is an int (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_finite(value: Any) -> bool:
    """``value`` is a finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_fields(config: Any, checks: list[tuple[str, bool, str]], prefix: str | None = None) -> None:
    """ValueError for the first ``(field, valid, what)`` of ``checks`` that is not valid, naming the field as
    ``<prefix><field>`` (default prefix: the config's class name and a dot)."""
    prefix = f"{type(config).__name__}." if prefix is None else prefix
    for name, ok, what in checks:
        if not ok:
            raise ValueError(f"{prefix}{name} must be {what}, got {getattr(config, name)!r}")
