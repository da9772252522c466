"""Checking a configuration dataclass's values on construction: the predicates and the one-line message.

Every stage's config (curation settings, sampler, training, tracker) lists ``(field, valid, what a valid value
is)`` and calls :func:`check_fields`, so a bad value is refused the same way everywhere:
``TrainConfig.epochs must be an integer of at least 1, got 0``. :func:`check_types` first checks every field's value
against the field's annotation (``SamplerConfig.pairs_per_epoch must be an integer, got 1.5``), so that the range
checks that follow see values of the right types.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from pathlib import Path
from typing import Any

from .errors import UserError


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
            raise UserError(f"{prefix}{name} must be {what}, got {getattr(config, name)!r}")


def check_types(config: Any, prefix: str | None = None) -> None:
    """ValueError, in :func:`check_fields`'s words, for the first field of dataclass ``config`` whose value is not of
    its annotated type. An ``int`` field takes an int (not a bool, not a float such as 1.5 or 2.0), a ``float`` field an
    int or a float (not a bool; NaN and infinities are left to the range checks), a ``bool`` field True or False, a
    ``Path`` a str or an ``os.PathLike``, ``tuple[X, ...]`` a tuple of X, ``X | None`` None or X, a dataclass an
    instance of it. TypeError for an annotation none of these covers (a field added without a way to check it)."""
    checks = [(name, _is_of(getattr(config, name), hint), what) for name, hint, what in _field_types(type(config))]
    check_fields(config, checks, prefix)


@functools.cache
def _field_types(cls: type) -> tuple[tuple[str, Any, str], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name], _describe(hints[f.name], cls, f.name)) for f in dataclasses.fields(cls))


def _options(hint: Any) -> tuple[Any, ...] | None:
    """The members of a union annotation (``X | None``), else None."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return None


def _describe(hint: Any, cls: type, name: str) -> str:
    """What a valid value of annotation ``hint`` is, in words."""
    members = _options(hint)
    if members is not None:
        named = [_describe(h, cls, name) for h in members if h is not type(None)]
        return " or ".join(named) + (" or None" if type(None) in members else "")
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a tuple of {_plural(_describe(args[0], cls, name))}"
    words = {int: "an integer", float: "a number", bool: "True or False", str: "a string", Path: "a path"}
    if hint in words:
        return words[hint]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return f"a {hint.__name__}"
    raise TypeError(f"{cls.__name__}.{name}: no type check for its annotation {hint!r}")


def _plural(what: str) -> str:
    return {"an integer": "integers", "a number": "numbers", "a string": "strings", "a path": "paths"}.get(
        what, what)


def _is_of(value: Any, hint: Any) -> bool:
    """``value`` fits annotation ``hint`` (see :func:`check_types`)."""
    members = _options(hint)
    if members is not None:
        return any(_is_of(value, h) for h in members)
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is tuple:
        return isinstance(value, tuple) and all(_is_of(v, typing.get_args(hint)[0]) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is Path:
        return isinstance(value, str | os.PathLike)
    return isinstance(value, hint)
