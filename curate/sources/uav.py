"""UAV123 and UAV20L (``--format uav``): aerial videos, one format with the two benchmarks as subsets.

Layout (the official download): ``<root>/data_seq/UAV123/<folder>/000001.jpg ...`` (``%06d.jpg``, from 1) holds the
frames of every video; ``<root>/anno/UAV123/<seq>.txt`` and ``<root>/anno/UAV20L/<seq>.txt`` are the two benchmarks'
box files (one ``x,y,w,h`` line per frame, commas); ``anno/UAV123/att/`` (attributes) is not read. Both benchmarks read
the same frame folders: UAV20L's 20 long videos are whole folders (``anno/UAV20L/bird1.txt`` covers
``data_seq/UAV123/bird1/`` from its first frame), while UAV123 cuts some of those folders into sub-sequences,
``<folder>_<k>`` (``person12_1``, ``person12_2``), each a frame range of the shared folder. One format with the
benchmark as the second part of the id: ``test/UAV123/<seq>`` and ``test/UAV20L/<seq>`` (split ``test``: both are
benchmarks); a registry picks a benchmark by that part. Track 0, class ``""``.

Frame ranges: the benchmark's MATLAB ``configSeqs`` (copied by the got10k toolkit's ``datasets/uav123.json``, and
pytracking's ``evaluation/uavdataset.py``: ``startFrame``/``endFrame``): :data:`SUB_SEQUENCES` holds the start and end
of every UAV123 sub-sequence (the ranges of one folder share their boundary frame, ``person12_1`` 1-601, ``person12_2``
601-1621, or leave a gap where the target is away: ``bird1_2`` 775-1477, ``uav1_3`` 2473-3469); line ``n`` of the box
file is frame ``start + n - 1``. Every other sequence (its own folder, or a UAV20L video) starts at frame 1 and has
as many frames as lines. A ``<folder>_<k>`` box file not in the table whose own folder does not exist (a tree that is
not the official one) gets the range that continues the previous sub-sequence of its folder, sharing its boundary
frame as the table's do (``_1`` from frame 1), with one note naming it; a box file whose folder cannot be found is
passed over with a line.

Box convention: **1-based** (:data:`ONE_BASED`): the UAV123 toolkit is OTB's MATLAB toolkit (``configSeqs``,
``calcRectInt``, centres ``x + (w - 1) / 2``) run on the numbers as they are; the got10k toolkit and pytracking read
them unchanged, so results go back 1-based.

Visibility: a frame where the target is out of view (UAV123's "out-of-view" attribute; UAV20L's long gaps) has the line
``NaN,NaN,NaN,NaN``: listed as hidden with :data:`~siamfc.curate.schema.OUT_OF_VIEW`, a NaN row of
:meth:`~siamfc.curate.sources.sequences.BoxFileSequence.ground_truth`, never scored by the toolkits. Bad input follows
:class:`~siamfc.curate.sources.sequences.BoxFileSequence`; stray files of a shared folder are reported by the
first of its sequences only (UAV123's before UAV20L's, ``_1`` before ``_2``).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CurationError
from ..paths import check_folder
from ..schema import OUT_OF_VIEW, key_fits
from .base import SequenceSearch, SourceFormat, check_splits
from .sequences import BoxFileSequence
from .text_files import content_lines

SPLITS = ("test",)
BENCHMARKS = ("UAV123", "UAV20L")
ONE_BASED = True
DATA, ANNO = "data_seq", "anno"
FRAMES = f"{DATA}/UAV123"  # every benchmark's frame folders
_SUB = re.compile(r"(.+)_([0-9]+)")
# UAV123 sub-sequences: folder -> (start, end) of <folder>_1, <folder>_2, ... (1-based inclusive frame numbers)
SUB_RANGES = {
    "bird1": ((1, 253), (775, 1477), (1573, 2437)),
    "car1": ((1, 751), (751, 1627), (1627, 2629)),
    "car6": ((1, 487), (487, 1807), (1807, 2953), (2953, 3925), (3925, 4861)),
    "car8": ((1, 1357), (1357, 2575)),
    "car16": ((1, 415), (415, 1993)),
    "group1": ((1, 1333), (1333, 2515), (2515, 3925), (3925, 4873)),
    "group2": ((1, 907), (907, 1771), (1771, 2683)),
    "group3": ((1, 1567), (1567, 2827), (2827, 4369), (4369, 5527)),
    "person2": ((1, 1189), (1189, 2623)),
    "person4": ((1, 1501), (1501, 2743)),
    "person5": ((1, 877), (877, 2101)),
    "person7": ((1, 1249), (1249, 2065)),
    "person8": ((1, 1075), (1075, 1525)),
    "person12": ((1, 601), (601, 1621)),
    "person14": ((1, 847), (847, 1813), (1813, 2923)),
    "person17": ((1, 1501), (1501, 2347)),
    "person19": ((1, 1243), (1243, 2791), (2791, 4357)),
    "truck4": ((1, 577), (577, 1261)),
    "uav1": ((1, 1555), (1555, 2377), (2473, 3469)),
}
SUB_SEQUENCES = {f"{folder}_{k}": (folder, start, end)  # name -> (folder, start, end)
                 for folder, ranges in SUB_RANGES.items() for k, (start, end) in enumerate(ranges, 1)}


@dataclass(frozen=True)
class UavSequence(BoxFileSequence):
    """A UAV123 or UAV20L sequence: NaN lines are frames where the target is out of view."""

    HIDDEN = OUT_OF_VIEW


def looks_like(root: Path) -> bool:
    """Whether ``root`` has ``data_seq/UAV123/`` and ``anno/UAV123/`` or ``anno/UAV20L/``."""
    root = Path(root)
    return (root / FRAMES).is_dir() and any((root / ANNO / b).is_dir() for b in BENCHMARKS)


def _box_files(folder: Path) -> list[Path]:
    try:
        return sorted(folder / e.name for e in os.scandir(folder) if e.name.endswith(".txt") and e.is_file())
    except OSError:
        return []


def _lines(path: Path) -> int:
    try:
        return len(content_lines(path))
    except Exception:  # noqa: BLE001 - reported when the sequence is read
        return 0


def _ranges(benchmark: str, files: list[Path], frames: Path, result: SequenceSearch) -> list[tuple]:
    """(name, box file, folder, start, frames or None) of a benchmark's box files."""
    found, chained = [], {}
    for path in sorted(files, key=lambda p: _order(p.stem)):
        name = path.stem
        m = _SUB.fullmatch(name)
        if benchmark == "UAV123" and name in SUB_SEQUENCES and not (frames / name).is_dir():
            folder, start, end = SUB_SEQUENCES[name]
            found.append((name, path, folder, start, end - start + 1))
        elif (frames / name).is_dir():
            found.append((name, path, name, 1, None))
        elif m and (frames / m[1]).is_dir():
            start = chained.get(m[1], 1)
            count = _lines(path)
            chained[m[1]] = start + max(count, 1) - 1
            result.notes.append(f"{path}: {name} is not a sub-sequence of the benchmark's table; taken as frames "
                                f"{start}..{start + count - 1} of {frames / m[1]} (continuing the previous one)")
            found.append((name, path, m[1], start, None))
        else:
            result.passed_over.append(f"{path}: no frame folder {frames / name}"
                                      + (f" nor {frames / m[1]}" if m else ""))
    return found


def _order(name: str) -> tuple[str, int]:
    m = _SUB.fullmatch(name)
    return (m[1], int(m[2])) if m else (name, 0)


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """Every sequence of both benchmarks under a UAV123 root, sorted by id."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    frames = root / FRAMES
    if not frames.is_dir():
        raise CurationError(f"{root}: no {FRAMES}/ folder; expected the UAV123 download ({FRAMES}/<seq>/000001.jpg, "
                            f"{ANNO}/UAV123/<seq>.txt)")
    reporter: set[str] = set()  # folders whose strays a sequence already reports (the first one listed)
    for benchmark in BENCHMARKS:
        for name, path, folder, start, count in _ranges(benchmark, _box_files(root / ANNO / benchmark), frames,
                                                         result):
            sequence_id = f"test/{benchmark}/{name}"
            if not key_fits(sequence_id):
                result.passed_over.append(f"{path}: name too long for a shard key")
                continue
            result.sequences.append(UavSequence(
                sequence_id, "test", frames / folder, path, first=start, expected=count, one_based=ONE_BASED,
                whole_folder=folder == name and count is None, digits=6, reports_strays=folder not in reporter))
            reporter.add(folder)
    if not result.sequences:
        raise CurationError(f"{root}: no box file in {ANNO}/UAV123/ or {ANNO}/UAV20L/")
    result.sequences.sort(key=lambda s: s.id)
    return result


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the layout leaves alone by design: the attribute files, frames no sequence's range covers."""
    parts = path.relative_to(root).parts
    if parts[:1] == (ANNO,) and "att" in parts:
        return "attribute files (anno/UAV123/att)"
    if parts[:2] == (DATA, "UAV123") and len(parts) == 4 and _annotated(os.fspath(root), parts[2]):
        return "frames outside every sequence's range"
    return None


@functools.lru_cache(maxsize=1024)
def _annotated(root: str, folder: str) -> bool:
    """Whether a box file of either benchmark reads frame folder ``folder``."""
    for benchmark in BENCHMARKS:
        for path in _box_files(Path(root) / ANNO / benchmark):
            m = _SUB.fullmatch(path.stem)
            if path.stem == folder or (m and m[1] == folder):
                return True
    return False


FORMAT = SourceFormat(name="uav", title="UAV123 / UAV20L", splits=SPLITS, looks_like=looks_like, search=search,
                      outside=outside)
