"""TNL2K (``--format tnl2k``): tracking by natural language; 1,300 training and 700 test videos with boxes.

Layout (the download): a subset folder (``TNL2K_test_subset/``, ``TNL2K_train_subset/``) of video folders
``<seq>/`` each holding ``imgs/00001.jpg ...`` (frames; the number is read, whatever its padding, and line ``n`` of
the box file is the frame numbered ``n``, or ``n - 1`` for a video numbered from 0), ``groundtruth.txt`` (one
``x,y,w,h`` line per frame, commas) and ``language.txt`` (the sentence: not read; the file account counts it as
outside the layout by design). The root is a subset folder, or a folder holding subset folders. Split: a subset
folder whose name contains ``train`` (any case) is ``train``, any other is ``test`` (the benchmark); snippet ids are
``<split>/<seq>``; track 0, class ``""``.

Frames: the evaluation toolkits pair line ``n`` with the ``n``-th file of the sorted listing of ``imgs/`` (pytracking
derivatives' ``tnl2kdataset.py``); frames here are matched by number instead, which is the same pairing for a
complete video and names the file when one is missing. Some TNL2K videos have PNG frames
(``test_015_Sord_video_Q01_done/imgs/00000492.png``, toolkit issues #27, #28): :meth:`Tnl2kSequence.track_frames`
lists them (``<number>.png`` in any case), while curation decodes JPEG only, so a PNG frame is ``frame_corrupt`` (not
a JPEG) when curated.

Box convention: **1-based**, LaSOT's: the TNL2K toolkit is LaSOT's MATLAB toolkit modified (its README says so);
``utils/calc_seq_err_robust.m`` computes centres as ``x + (w - 1) / 2`` on the numbers as they are (OTB's inclusive
1-based rule) and results are compared in the same frame, so 1 is subtracted from ``x`` and ``y`` (:data:`ONE_BASED`)
and results go back 1-based.

Visibility: the toolkit scores only frames whose box has all four numbers positive (``index = rect_anno > 0``) and
drops the frames its own ``annos/absent/<seq>.txt`` marks absent (a file of the toolkit, not of the dataset). In the
dataset a frame without the target has a box of zero width or height (``0,0,0,0``): listed as hidden with
:data:`~siamfc.curate.schema.ABSENT` (a NaN row of :meth:`~Tnl2kSequence.ground_truth`), not as bad input. A box with
positive size is kept as annotated, ``x`` or ``y`` below 1 included (partly out of view). Bad input follows
:class:`~siamfc.curate.sources.sequences.BoxFileSequence`.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CurationError
from ..paths import check_folder
from ..schema import ABSENT, key_fits
from .base import (
    FirstPaths,
    FrameFiles,
    SequenceSearch,
    SourceFormat,
    check_splits,
    list_frame_files,
    not_asked,
    subfolders,
)
from .sequences import BoxFileSequence, Row, checked_box, nan_row
from .text_files import parse_box

SPLITS = ("test", "train")
ONE_BASED = True
IMAGES, GROUNDTRUTH, LANGUAGE = "imgs", "groundtruth.txt", "language.txt"
_NUMBER = re.compile(r"[0-9]{1,9}")
_PNG = re.compile(r"([0-9]{1,9})\.png", re.IGNORECASE)


@dataclass(frozen=True)
class Tnl2kSequence(BoxFileSequence):
    """One TNL2K video: zero-size boxes are frames without the target; PNG frames are frames too."""

    NUMBER = _NUMBER
    HIDDEN = ABSENT

    def row(self, line: str, number: int) -> Row:
        if nan_row(line):
            return Row(None, ABSENT)
        box = parse_box(line, self.box_file, number)
        if box[2] <= 0 or box[3] <= 0:
            return Row(None, ABSENT)
        return Row(checked_box(box, line, self.box_file, number))

    @functools.cached_property
    def _files(self) -> FrameFiles:
        """JPEG frames as every source lists them, then ``<number>.png`` files as frames of the numbers left."""
        listing = list_frame_files(self.frames_dir, self.NUMBER, preferred=lambda name: len(name.split(".")[0]) == 5)
        strays = []
        for path in listing.strays:
            m = _PNG.fullmatch(path.name)
            if m and int(m[1]) not in listing.frames:
                listing.frames[int(m[1])] = path
            else:
                strays.append(path)
        listing.frames = dict(sorted(listing.frames.items()))
        listing.strays = strays
        return listing


def _first(folder: Path) -> int:
    """The number of the video's first frame: 0 when a frame 0 exists, else 1."""
    try:
        names = [e.name for e in os.scandir(folder)]
    except OSError:
        return 1
    return 0 if any(re.fullmatch(r"0+\.(jpe?g|png)", n, re.IGNORECASE) for n in names) else 1


def _is_video(folder: Path) -> bool:
    return (folder / IMAGES).is_dir() and (folder / GROUNDTRUTH).is_file()


def split_of(subset: Path) -> str:
    """The split of a subset folder's videos: ``train`` when its name says so, else ``test``."""
    return "train" if "train" in subset.name.lower() else "test"


def _subsets(root: Path) -> list[Path]:
    """The subset folders of ``root``: itself when it holds videos, else its subfolders that do."""
    if any(_is_video(p) for p in subfolders(root)[:64]):
        return [root]
    return [p for p in subfolders(root) if any(_is_video(v) for v in subfolders(p)[:64])]


def looks_like(root: Path) -> bool:
    """Whether ``root`` is a TNL2K subset folder (``<seq>/imgs/`` beside ``<seq>/groundtruth.txt``) or holds some."""
    return bool(_subsets(Path(root)))


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """The videos of the requested splits under a TNL2K root, sorted by id."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    found = dict.fromkeys(SPLITS, 0)
    first_paths = FirstPaths(result.passed_over)
    for subset in _subsets(root):
        split = split_of(subset)
        for folder in subfolders(subset):
            if not _is_video(folder):
                if (folder / IMAGES).is_dir() or (folder / GROUNDTRUTH).is_file():
                    result.passed_over.append(f"{folder}: needs both {IMAGES}/ and {GROUNDTRUTH}; not a TNL2K video")
                continue
            found[split] += 1
            if split not in splits:
                continue
            if not first_paths.first(folder):
                continue
            sequence_id = f"{split}/{folder.name}"
            if not key_fits(sequence_id):
                result.passed_over.append(f"{folder}: name too long for a shard key")
                continue
            result.sequences.append(Tnl2kSequence(
                sequence_id, split, folder / IMAGES, folder / GROUNDTRUTH, first=_first(folder / IMAGES),
                one_based=ONE_BASED, digits=5))
    if not result.sequences:
        where = ", ".join(f"{n} {s}" for s, n in found.items() if n)
        hint = f"; it has {where} (choose with --split)" if where else (
            f"; expected <subset>/<seq>/{IMAGES}/ and <seq>/{GROUNDTRUTH}")
        raise CurationError(f"{root}: no TNL2K video for split(s) {list(splits)}{hint}")
    ids = [s.id for s in result.sequences]
    if len(set(ids)) != len(ids):
        raise CurationError(f"{root}: two subset folders hold videos of the same name and split")
    result.sequences.sort(key=lambda s: s.id)
    return result


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the layout leaves alone by design: the language files, the videos of a split not asked for."""
    if path.name == LANGUAGE:
        return "language descriptions (language.txt)"
    video = path.parent.parent if path.parent.name == IMAGES else path.parent
    if _is_video(video):
        split = split_of(video.parent)
        if split not in splits:
            return not_asked(split)
    return None


FORMAT = SourceFormat(name="tnl2k", title="TNL2K", splits=SPLITS, looks_like=looks_like, search=search,
                      outside=outside)
