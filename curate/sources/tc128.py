"""Temple Color 128 (``--format tc128``): 128 colour sequences, OTB's layout with a frame-range file.

Layout (the ``Temple-color-128.zip`` download): ``<root>/<seq>/img/0001.jpg ...`` (``%04d.jpg``), a box file
``<seq>/<name>_gt.txt`` (one ``x,y,w,h`` line per frame, commas) and a range file ``<seq>/<name>_frames.txt`` (one line
``start,end``: the 1-based image numbers of the first and last annotated frame). ``<name>`` is not always the folder's
name (``Yo_yos_ce1/Yo-yos_ce1_gt.txt``): the files are found by their suffix, as the got10k toolkit's
``datasets/tcolor128.py`` globs ``*_gt.txt`` and ``*_frames.txt``. A folder with none or several ``*_gt.txt`` is
passed over with a line. Snippet ids are ``test/<seq>`` (one split: TC128 is a benchmark); track 0, class ``""``.

Frames: line ``n`` of the box file is image ``start + n - 1`` (the got10k toolkit builds ``img/%04d.jpg`` for
``range(start, end + 1)``; pytracking's ``tpldataset.py`` lists the same ranges, e.g. Busstation_ce2 6-400,
Hurdle_ce2 27-330, David 300-770): images outside the range are not frames of the sequence; a box file whose line
count is not ``end - start + 1`` is ``gt_line_count`` (the toolkit asserts the equality). A range file that is not
two whole numbers ``start <= end`` (``label_malformed``, naming file and line) or is missing: the range is taken as
the box lines from image 1, with one note.

Box convention: **1-based**, as OTB's (:data:`ONE_BASED`): TC128 was built and evaluated with the OTB toolkit
(MATLAB; the paper reports OTB's precision and success plots, and its sequences shared with OTB, David, Lemming,
Liquor and others, carry OTB's frame ranges and boxes); neither the got10k toolkit nor pytracking shifts the numbers,
so results go back 1-based too. TC128 has no visibility annotation: every annotated frame is visible. Bad input
follows :class:`~siamfc.curate.sources.sequences.BoxFileSequence`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LABEL_MALFORMED, BadInput, CurationError
from ..paths import check_folder
from ..schema import key_fits
from .base import FirstPaths, SequenceSearch, SourceFormat, check_splits
from .sequences import BoxFileSequence
from .text_files import content_lines

SPLITS = ("test",)
ONE_BASED = True
IMAGES = "img"
GT_SUFFIX, RANGE_SUFFIX = "_gt.txt", "_frames.txt"


def _files(folder: Path, suffix: str) -> list[Path]:
    try:
        return sorted(folder / e.name for e in os.scandir(folder) if e.name.endswith(suffix) and e.is_file())
    except OSError:
        return []


def read_range(path: Path) -> tuple[int, int]:
    """``(start, end)`` of a ``*_frames.txt``; BadInput naming file and line when it is not ``start,end``."""
    lines = content_lines(path)
    values = lines[0].replace(",", " ").split() if lines else []
    try:
        start, end = (int(v) for v in values)
    except ValueError:
        start = end = 0
    if not 1 <= start <= end:
        shown = repr(lines[0].strip()) if lines else "an empty file"
        raise BadInput(LABEL_MALFORMED, f"{path}, line 1: {shown} is not a frame range start,end")
    return start, end


def _is_sequence(folder: Path) -> bool:
    return (folder / IMAGES).is_dir() and bool(_files(folder, GT_SUFFIX))


def looks_like(root: Path) -> bool:
    """Whether ``root`` holds TC128 sequence folders (``img/``, ``*_gt.txt`` and ``*_frames.txt``) or is one."""
    root = Path(root)
    candidates = [root]
    try:
        candidates += sorted(p for p in root.iterdir() if p.is_dir())[:64]
    except OSError:
        return False
    return any(_is_sequence(p) and _files(p, RANGE_SUFFIX) for p in candidates)


def sequence_of(folder: Path, passed_over: list[str], notes: list[str]) -> BoxFileSequence | None:
    """The sequence of one TC128 folder, or None (with a passed-over line)."""
    gts, ranges = _files(folder, GT_SUFFIX), _files(folder, RANGE_SUFFIX)
    if len(gts) != 1:
        passed_over.append(f"{folder}: {len(gts)} files *{GT_SUFFIX} ({', '.join(p.name for p in gts)}); a TC128 "
                           "sequence has one")
        return None
    start, expected = 1, None
    if len(ranges) == 1:
        try:
            start, end = read_range(ranges[0])
            expected = end - start + 1
        except BadInput as bad:
            notes.append(f"{bad.detail}; the range is taken as the box lines from image 1")
    else:
        notes.append(f"{folder}: {len(ranges)} files *{RANGE_SUFFIX}; the range is taken as the box lines from "
                     "image 1")
    return BoxFileSequence(f"test/{folder.name}", "test", folder / IMAGES, gts[0], first=start, expected=expected,
                           one_based=ONE_BASED, whole_folder=False, extra_inputs=tuple(ranges[:1]))


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """Every TC128 sequence under ``root`` (a folder of sequence folders, or one), sorted by id."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    folders = [root] if _is_sequence(root) else sorted(p for p in root.iterdir() if p.is_dir())
    first_paths = FirstPaths(result.passed_over)
    for folder in folders:
        if not (folder / IMAGES).is_dir():
            continue
        if not first_paths.first(folder):
            continue
        sequence = sequence_of(folder, result.passed_over, result.notes)
        if sequence is None:
            continue
        if key_fits(sequence.id):
            result.sequences.append(sequence)
        else:
            result.passed_over.append(f"{folder}: name too long for a shard key")
    if not result.sequences:
        raise CurationError(f"{root}: no TC128 sequence (<seq>/img/0001.jpg, <seq>/<name>{GT_SUFFIX} and "
                            f"<name>{RANGE_SUFFIX})")
    result.sequences.sort(key=lambda s: s.id)
    return result


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Images outside a sequence's frame range are left alone by design."""
    if path.parent.name == IMAGES and _files(path.parent.parent, RANGE_SUFFIX):
        return "images outside the sequence's frame range (*_frames.txt)"
    return None


FORMAT = SourceFormat(name="tc128", title="Temple Color 128", splits=SPLITS, looks_like=looks_like, search=search,
                      outside=outside)
