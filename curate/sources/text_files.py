"""Reading the plain-text annotations of GOT-10k, LaSOT and TrackingNet, with the file and line of every problem.

Lines may end in ``\\n`` or ``\\r\\n`` (TrackingNet's files have CRLF), the file may start with a UTF-8 byte order
mark, and a final newline is optional. A box line is 4 numbers separated by commas (tabs or spaces are accepted
too); a flag file is one value per line, or all values on one comma-separated line (LaSOT).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ..boxes import xywh_to_xyxy
from ..errors import BOX_EMPTY, BOX_MALFORMED, LABEL_MALFORMED, LABEL_MISSING, BadInput

_SEPARATORS = re.compile(r"[,\t ]+")


def read_lines(path: Path) -> list[str]:
    """The file's lines without line ends (a missing file or one that is not text: BadInput LABEL_MISSING or
    LABEL_MALFORMED naming it)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BadInput(LABEL_MISSING, f"{path}: no such file") from None
    except OSError as err:
        raise BadInput(LABEL_MISSING, f"{path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(LABEL_MALFORMED, f"{path}: not a text file") from None
    return text.splitlines()


def content_lines(path: Path) -> list[str]:
    """:func:`read_lines` without the blank lines at the end of the file (they are no frames)."""
    lines = read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def content_lines_or_problem(path: Path) -> list[str] | BadInput:
    """:func:`content_lines`, or the BadInput saying why the file cannot be read (kept, not raised: a sequence
    reports it when it is read)."""
    try:
        return content_lines(path)
    except BadInput as bad:
        return bad


def parse_box(line: str, path: Path, number: int) -> tuple[float, float, float, float]:
    """``x, y, w, h`` of line ``number`` (1-based) of ``path``; BadInput BOX_MALFORMED naming both otherwise."""
    fields = [f for f in _SEPARATORS.split(line.strip()) if f]
    try:
        values = tuple(float(f) for f in fields)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        shown = repr(line.strip()) if line.strip() else "an empty line"
        raise BadInput(BOX_MALFORMED, f"{path}, line {number}: {shown} is not 4 finite numbers x,y,w,h")
    return values  # type: ignore[return-value]


def read_box(line: str, path: Path, number: int, one_based: bool = False) -> tuple[float, float, float, float]:
    """Line ``number`` of ``path`` as an ``xyxy`` box (:func:`parse_box`, then
    :func:`~siamfc.curate.boxes.xywh_to_xyxy`); BadInput BOX_EMPTY naming both when the box is at most one pixel
    wide or high (``xyxy`` needs ``xmax > xmin``: every later step would reject it as empty)."""
    x, y, w, h = parse_box(line, path, number)
    if not (w > 1 and h > 1):
        raise BadInput(BOX_EMPTY, f"{path}, line {number}: box x,y,w,h {line.strip()!r} has a width or height of "
                                  f"{min(w, h):g} pixels (a box needs more than 1)")
    return tuple(float(v) for v in xywh_to_xyxy((x, y, w, h), one_based))  # type: ignore[return-value]


def read_flags(path: Path, allowed: frozenset[str]) -> list[str]:
    """The values of a flag file, one per frame (one per line, or comma-separated on one line); BadInput
    LABEL_MALFORMED naming the file and line of the first value not in ``allowed``."""
    lines = read_lines(path)
    values, where = [], []
    for number, line in enumerate(lines, 1):
        for value in line.split(",") if "," in line else [line]:
            values.append(value.strip())
            where.append(number)
    while values and values[-1] == "" and where[-1] == len(lines):  # a trailing blank line or comma
        values.pop()
        where.pop()
    for value, number in zip(values, where, strict=True):
        if value not in allowed:
            raise BadInput(LABEL_MALFORMED, f"{path}, line {number}: {value!r} is not one of "
                                            f"{', '.join(sorted(allowed))}")
    return values
