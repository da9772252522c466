"""Which curations the pair stream draws from, and how often: :class:`CurationShare`, importable without torch.

A mix is a sequence of shares; pair ``i`` comes from share ``k`` with probability ``weight_k / sum(weights)``
(:mod:`.pairs`). On the command line a share is ``PATH``, ``PATH:WEIGHT`` or ``PATH:WEIGHT:MAX_GAP``
(:meth:`CurationShare.parse`); in a run's ``config.json`` it is a JSON object (:func:`shares_to_json`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siamfc.curate.config_checks import check_fields, is_finite, is_whole
from siamfc.curate.errors import UserError

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)


@dataclass(frozen=True)
class CurationShare:
    """One curation of a mix: its folder, its weight and, optionally, its own largest frame gap; ``identity`` is the
    curation's own (:attr:`siamfc.curate.folder.CurationLayout.identity`) once a training run has recorded it."""

    root: Path
    weight: float = 1.0  # relative: the curation's share of pairs is weight / sum of the mix's weights
    max_gap: int | None = None  # largest exemplar-search frame distance here; None: SamplerConfig.max_gap
    identity: str | None = None  # which curation ``root`` held when a run recorded the share; None: not recorded

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        check_fields(self, [
            ("weight", is_finite(self.weight) and self.weight > 0, "a finite number above 0"),
            ("max_gap", self.max_gap is None or is_whole(self.max_gap, 1), "unset or an integer of at least 1"),
            ("identity", self.identity is None or isinstance(self.identity, str) and self.identity != "",
             "unset or a non-empty string"),
        ])

    @classmethod
    def parse(cls, text: str) -> CurationShare:
        """``PATH``, ``PATH:WEIGHT`` or ``PATH:WEIGHT:MAX_GAP``. Fields are read from the right and only numbers
        count as fields, so a path with a colon in it stays whole (``runs/a:b`` is a path). Where the text reads
        several ways, an existing folder decides, the longest first: ``cur:2`` is the folder ``cur:2`` when there
        is one, else ``cur`` with weight 2; when another reading names a folder too, a warning says which reading
        was taken and how to write the other. ValueError naming ``text`` and the problem, in one line."""
        readings = cls.readings(text)
        existing = [(root, values) for root, values in readings if root and Path(root).is_dir()]
        root, values = existing[0] if existing else readings[-1]
        try:
            weight = float(values[0]) if values else 1.0
            gap = _whole(values[1]) if len(values) > 1 else None
            if not root:
                raise UserError("no curation folder given")
            share = cls(Path(root), weight, gap)
        except ValueError as err:
            problem = str(err).removeprefix("CurationShare.")
            raise UserError(f"curation {text!r} (PATH[:WEIGHT[:MAX_GAP]]): {problem}") from None
        if len(existing) > 1:
            other, fields = existing[1]
            warnings.warn(f"curation {text!r}: read as {share.reading()}; the folder {other} exists too: write "
                          f"{other.rstrip('/')}/:{':'.join(fields)} to mean it", stacklevel=2)
        return share

    @staticmethod
    def readings(text: str) -> list[tuple[str, list[str]]]:
        """Every way to read ``text`` as ``(path, [weight[, max gap]])``, the longest path first (numbers only
        count as fields)."""
        fields = text.split(":")
        n = 0  # trailing number fields: weight, then weight and gap
        while n < 2 and n < len(fields) - 1 and _NUMBER.fullmatch(fields[-1 - n]):
            n += 1
        return [(":".join(fields[:len(fields) - k]), fields[len(fields) - k:]) for k in range(n + 1)]

    def reading(self) -> str:
        """How a command line's share was read: ``folder PATH`` and its weight and gap where given."""
        extra = ([f"weight {self.weight:g}"] if self.weight != 1.0 or self.max_gap is not None else []) + (
            [f"max gap {self.max_gap}"] if self.max_gap is not None else [])
        return f"the folder {self.root}" + (f" with {' and '.join(extra)}" if extra else "")

    def describe(self, default_gap: int) -> str:
        """``ROOT (weight W, max gap G)``."""
        return f"{self.root} (weight {self.weight:g}, max gap {self.gap(default_gap)})"

    def gap(self, default: int) -> int:
        """This curation's largest frame gap: its own, else ``default`` (the sampler's)."""
        return self.max_gap if self.max_gap is not None else default

    def to_json(self) -> dict[str, Any]:
        """The share as a JSON object (the root as a string; the identity where recorded)."""
        identity = {"identity": self.identity} if self.identity is not None else {}
        return {"root": str(self.root), "weight": self.weight, "max_gap": self.max_gap, **identity}

    @classmethod
    def from_json(cls, value: str | dict[str, Any]) -> CurationShare:
        """What :meth:`to_json` wrote, or a plain path (a run's ``config.json`` before mixes)."""
        if isinstance(value, str):
            return cls(Path(value))
        if not isinstance(value, dict) or not isinstance(value.get("root"), str):
            raise UserError(f"a curation must be a path or an object with a root path, got {value!r}")
        return cls(Path(value["root"]), value.get("weight", 1.0), value.get("max_gap"), value.get("identity"))


def _whole(text: str) -> int:
    """An integer field; ValueError naming the gap otherwise."""
    value = float(text)
    if not (math.isfinite(value) and value.is_integer()):
        raise UserError(f"max_gap must be an integer of at least 1, got {text!r}")
    return int(value)


Curations = str | Path | CurationShare | Sequence[str | Path | CurationShare]
"""What a pair dataset or a training run takes as its data: one curation (a path weighs 1) or a mix."""


def as_shares(data: Curations) -> tuple[CurationShare, ...]:
    """``data`` as a non-empty tuple of shares (a plain path is a share of weight 1 and the sampler's gap)."""
    items = [data] if isinstance(data, str | Path | CurationShare) else list(data)
    if not items:
        raise UserError("no curation given: a mix needs at least one")
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
    raise UserError(f"curations must be a path or a non-empty list of them, got {value!r}")


def identified(shares: Sequence[CurationShare]) -> tuple[CurationShare, ...]:
    """``shares`` with the identity of the curation each folder holds now (CurationError where one is none)."""
    from siamfc.curate.folder import CurationLayout  # here: the command line parses shares without opening any

    return tuple(dataclasses.replace(s, identity=CurationLayout.open(s.root).identity) for s in shares)


def _gap(share: CurationShare) -> str:
    return str(share.max_gap) if share.max_gap is not None else "the sampler's"


def match_mix(recorded: Sequence[CurationShare], given: Sequence[CurationShare],
              option: str = "--data") -> tuple[CurationShare, ...]:
    """A run's ``recorded`` mix found among the ``given`` shares (their folders' identities filled in,
    :func:`identified`): by identity, weight and gap, never by path, so folders may have moved. Returns the recorded
    mix in its order (the order draws the pairs) at the given folders. ValueError naming every difference, ``option``
    being the command line's name for the mix.

    A mix recorded before identities were (shares without one) is compared by position, weights and gaps only."""
    if any(r.identity is None for r in recorded):
        mix, now = ([(s.weight, s.max_gap) for s in m] for m in (recorded, given))
        if mix != now:
            raise UserError(f"the run was started with another mix of curations ((weight, max gap) {mix} vs {now}); "
                             f"resume with the same {option}")
        return tuple(given)
    left, out, problems = list(given), [], []
    for r in recorded:
        same = [g for g in left if g.identity == r.identity]
        g = next((g for g in same if (g.weight, g.max_gap) == (r.weight, r.max_gap)), None)
        if g is not None:
            left.remove(g)
            out.append(dataclasses.replace(r, root=g.root))
            continue
        there = next((g for g in left if g.root == r.root), None)
        if same:
            left.remove(same[0])
            problems.append(f"{same[0].root} (curation {r.identity}) had weight {r.weight:g} and max gap {_gap(r)} "
                            f"in the run, not weight {same[0].weight:g} and max gap {_gap(same[0])}")
        elif there is not None:
            left.remove(there)
            problems.append(f"{there.root} holds curation {there.identity}, but the run was trained on curation "
                            f"{r.identity} there")
        else:
            problems.append(f"the run's curation {r.identity} (then at {r.root}, weight {r.weight:g}, max gap "
                            f"{_gap(r)}) is not given")
    problems += [f"{g.root} (curation {g.identity}) is not in the run's mix" for g in left]
    if problems:
        raise UserError(f"{option} does not give the run's curations: {'; '.join(problems)}; resume with the same "
                         "curations, weights and gaps (their folders may move)")
    return tuple(out)


def follow(recorded: Sequence[CurationShare], moved: Sequence[CurationShare]) -> tuple[CurationShare, ...]:
    """A run's recorded validation mix where its curations are now: a curation of the training mix ``moved``
    (:func:`match_mix`'s answer) at its new folder, any other where it was recorded."""
    where = {s.identity: s.root for s in moved if s.identity is not None}
    return tuple(dataclasses.replace(s, root=where.get(s.identity, s.root)) if s.identity is not None else s
                 for s in recorded)
