"""Configuration dataclasses to and from JSON, the one codec every stage's config files use.

:func:`to_json` gives plain values (nested dataclasses as dicts, tuples written as JSON lists); :func:`from_json`
rebuilds the dataclass: nested dataclass fields from their dicts, JSON lists back to tuples (frozen configs hold
tuples), keys the class no longer has ignored, missing ones left to their defaults.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(obj: Any) -> dict[str, Any]:
    """The fields of dataclass instance ``obj`` as JSON-able values (``dataclasses.asdict``)."""
    return dataclasses.asdict(obj)


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` built from what :func:`to_json` wrote; TypeError when ``data`` is not a JSON object, the class's own
    checks (ValueError) otherwise."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.init and f.name in data:
            nested = _dataclass_type(hints.get(f.name))
            value = data[f.name]
            values[f.name] = from_json(nested, value) if nested is not None and isinstance(value, dict) \
                else _tuples(value)
    return cls(**values)


def _dataclass_type(hint: Any) -> type | None:
    """The dataclass a field holds (``C`` or ``C | None``), else None."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        found = [h for h in typing.get_args(hint) if isinstance(h, type) and dataclasses.is_dataclass(h)]
        return found[0] if len(found) == 1 else None
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def _tuples(value: Any) -> Any:
    """JSON lists (at any depth) back to tuples."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
