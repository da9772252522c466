"""Need for Speed (``--format nfs``): 100 videos at 240 fps, and the same videos subsampled to 30 fps.

Layout (the official download, as the got10k toolkit's ``datasets/nfs.py`` globs it, ``*/<fps>/*.txt``):
``<root>/<seq>/<fps>/<seq>/00001.jpg ...`` (``%05d.jpg``, from 1) and ``<root>/<seq>/<fps>/<seq>.txt``, ``<fps>``
``30`` or ``240`` (a box file inside the frame folder, ``<seq>/<fps>/<seq>/<seq>.txt``, is read too: some copies are
unpacked so, pytracking issue #160). One format with the frame rate as the second part of the id:
``test/240/<seq>`` and ``test/30/<seq>`` (split ``test``: NfS is a benchmark); track 0; the class is the label of the
annotation (``person``, ``ball``), as the file writes it.

Annotation lines are VATIC's text export, space separated: ``track xmin ymin xmax ymax frame lost occluded generated
"label"`` (e.g. ``1 264 165 324 245 0 0 0 0 "person"``). As the got10k toolkit reads them, columns 2-5 are the box's
corners and the size is their difference, ``w = xmax - xmin`` (no ``+ 1``), numbers used as they are:
**0-based** ``x, y, w, h = xmin, ymin, xmax - xmin, ymax - ymin`` (VATIC draws on a browser canvas counting pixels from
0; nothing in the toolkits shifts them). Extra columns are read: ``lost`` 1 (the target is outside the view, VATIC's
meaning) makes the frame hidden with :data:`~siamfc.curate.schema.OUT_OF_VIEW` (a NaN row of the ground truth; the
box of such a line is VATIC's last position, a placeholder); ``occluded`` 1 keeps the target visible with the
``occluded`` flag set; ``generated`` (VATIC's interpolation) is not kept.

Frames: at 240 fps line ``n`` is frame ``n``. The 30 fps annotation files are the 240 fps ones (8 lines per 30 fps
frame, pytracking issue #160): as the got10k toolkit does, when the file has between 7 and 9 times as many lines as
the folder has frames, line ``8(k - 1) + 1`` is frame ``k``. Then, again as the toolkit, a line count that differs from
the frame count by one is trimmed to the shorter (the last frame or the last line left out, without a report); a
larger difference is ``gt_line_count``. The frame count is the highest frame number (the toolkit counts files: the
same for a complete folder), so a frame missing in the middle is ``frame_missing``, not a shorter video. Frames are
matched by number. Bad input otherwise follows
:class:`~siamfc.curate.sources.sequences.BoxFileSequence`; a line with fewer than 9 fields, or fields that are not
numbers, is ``box_malformed`` naming file and line.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ..errors import BOX_MALFORMED, BadInput, CurationError
from ..paths import check_folder
from ..schema import OUT_OF_VIEW, key_fits
from .base import FirstPaths, SequenceSearch, SourceFormat, check_splits, subfolders
from .sequences import BoxFileSequence, Row, checked_box
from .text_files import content_lines, content_lines_or_problem

SPLITS = ("test",)
RATES = ("240", "30")
ONE_BASED = False
SUBSAMPLE = 8  # 240 / 30


@dataclass(frozen=True)
class NfsSequence(BoxFileSequence):
    """One NfS video at one frame rate."""

    HIDDEN = OUT_OF_VIEW

    def row(self, line: str, number: int) -> Row:
        fields = line.split()
        try:
            xmin, ymin, xmax, ymax = (float(f) for f in fields[1:5])
            lost, occluded = int(fields[6]), int(fields[7])
        except (ValueError, IndexError):
            shown = repr(line.strip()) if line.strip() else "an empty line"
            raise BadInput(BOX_MALFORMED, f"{self.box_file}, line {number}: {shown} is not an NfS line (track xmin "
                                          "ymin xmax ymax frame lost occluded generated label)") from None
        if lost:
            return Row(None, OUT_OF_VIEW)
        box = checked_box((xmin, ymin, xmax - xmin, ymax - ymin), line, self.box_file, number)
        return Row(box, occluded=int(occluded != 0))

    def placeholder_boxes(self) -> dict[int, tuple[float, float, float, float]]:
        """The box VATIC keeps on each lost frame (columns 2-5 as written, ``w = xmax - xmin``): got10k's and
        pytracking's NfS readers take every line, so their figures score lost frames against it."""
        lines = self._lines
        if isinstance(lines, BadInput):
            return {}
        found = {}
        for k, line in enumerate(lines[: self._span]):
            fields = line.split()
            try:
                xmin, ymin, xmax, ymax = (float(f) for f in fields[1:5])
                lost = int(fields[6])
            except (ValueError, IndexError):
                continue
            if lost:
                found[k] = (xmin, ymin, xmax - xmin, ymax - ymin)
        return found

    def line_number(self, k: int) -> int:
        return k * self._step + 1

    @functools.cached_property
    def _last_frame(self) -> int:
        """The highest frame number of the folder: the frame count the toolkit compares, a gap aside (a missing frame
        in the middle is a missing frame, not a shorter video)."""
        return max(self._files.frames, default=0)

    @functools.cached_property
    def _all_lines(self) -> list[str] | BadInput:
        return content_lines_or_problem(self.box_file)

    @functools.cached_property
    def _step(self) -> int:
        """8 when the file holds the 240 fps lines of a 30 fps video (the toolkit's test), else 1."""
        lines, frames = self._all_lines, self._last_frame
        if isinstance(lines, BadInput) or not frames:
            return 1
        return SUBSAMPLE if abs(len(lines) / frames - SUBSAMPLE) < 1 else 1

    @functools.cached_property
    def _lines(self) -> list[str] | BadInput:  # type: ignore[override]
        lines = self._all_lines
        return lines if isinstance(lines, BadInput) else lines[:: self._step]

    @functools.cached_property
    def _span(self) -> int:  # type: ignore[override]
        lines, frames = self._lines, self._last_frame
        n = 0 if isinstance(lines, BadInput) else len(lines)
        return min(n, frames) if frames and abs(n - frames) <= 1 else n

    def _count_problems(self) -> list[BadInput]:
        lines, frames = self._lines, self._last_frame
        if not isinstance(lines, BadInput) and frames and abs(len(lines) - frames) <= 1:
            return []  # the toolkit trims a difference of one
        return super()._count_problems()


def _box_file(folder: Path, rate: str) -> Path | None:
    """The box file of ``<seq>/<rate>/``: ``<seq>.txt`` beside the frame folder, else inside it."""
    for path in (folder / rate / f"{folder.name}.txt", folder / rate / folder.name / f"{folder.name}.txt"):
        if path.is_file():
            return path
    return None


def label(path: Path) -> str:
    """The class label of an NfS box file (the last field of its first line, without quotes); "" if unreadable."""
    try:
        lines = content_lines(path)
    except BadInput:
        return ""
    fields = lines[0].split() if lines else []
    return fields[-1].strip('"') if len(fields) >= 10 else ""


def _is_video(folder: Path) -> bool:
    return any(_box_file(folder, rate) is not None for rate in RATES)


def looks_like(root: Path) -> bool:
    """Whether ``root`` holds NfS videos (``<seq>/30/<seq>.txt`` or ``<seq>/240/<seq>.txt``) or is one."""
    root = Path(root)
    return _is_video(root) or any(_is_video(p) for p in subfolders(root)[:64])


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """Every video at both frame rates under an NfS root, sorted by id."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    folders = [root] if _is_video(root) else subfolders(root)
    first_paths = FirstPaths(result.passed_over)
    for folder in folders:
        if not _is_video(folder):
            if any((folder / rate).is_dir() for rate in RATES):
                result.passed_over.append(f"{folder}: no {folder.name}.txt in {' or '.join(RATES)}/; not an NfS video")
            continue
        if not first_paths.first(folder):
            continue
        for rate in RATES:
            path = _box_file(folder, rate)
            if path is None:
                continue
            sequence_id = f"test/{rate}/{folder.name}"
            if not key_fits(sequence_id):
                result.passed_over.append(f"{folder}: name too long for a shard key")
                continue
            frames = folder / rate / folder.name
            result.sequences.append(NfsSequence(sequence_id, "test", frames, path, one_based=ONE_BASED,
                                                cls=label(path), known=(path.name,), digits=5))
    if not result.sequences:
        raise CurationError(f"{root}: no NfS video (<seq>/240/<seq>/00001.jpg and <seq>/240/<seq>.txt, or 30/)")
    result.sequences.sort(key=lambda s: s.id)
    return result


FORMAT = SourceFormat(name="nfs", title="Need for Speed (NfS)", splits=SPLITS, looks_like=looks_like, search=search)
