"""LaSOT (``--format lasot``): one target per video, with per-frame full-occlusion and out-of-view flags.

Layout: ``<root>/<class>/<class>-<n>/`` holding ``img/00000001.jpg ...`` (8 digits, from 1),
``groundtruth.txt`` (one ``x,y,w,h`` line per frame, comma-separated integers), ``full_occlusion.txt`` and
``out_of_view.txt`` (each one line of comma-separated ``0``/``1``, one per frame) and ``nlp.txt`` (a sentence, not
read). A *flat* root of ``<class>-<n>/`` folders (a download of single classes or of the test subset unpacked side by
side), or a root that is itself one ``<class>-<n>/`` folder, is read the same way; the class is then the name before
the last ``-``. A sequence folder is a ``<name>-<number>`` folder (under a folder named ``<name>``, in any case, when
nested) with ``groundtruth.txt`` or ``img/``; :func:`looks_like` wants both in at least one. A folder with either
file that is not one (``airplane/bear-9``, ``airplane/airplane_3``) is passed over with a line naming it.

Splits: the official protocol-II split lists its 280 test videos in the toolkit's ``testing_set.txt`` (one name a
line, e.g. ``airplane-1``). A ``testing_set.txt`` at the root makes the sequences it names ``test`` and the others
``train`` (a root holding only the test subset is then all ``test``); without it every sequence is ``train``, since
nothing else tells the split: copy the toolkit's ``testing_set.txt`` into the root before curating training data from
the full dataset, or the 280 test videos are trained on. A class or video folder given as the root takes the
``testing_set.txt`` of the dataset root above it (with a note), so its test videos stay ``test``; a name in the list
that matches no video under the root is named with its line (a misspelt name would put its video in train).
Snippet ids are ``<split>/<class>/<class>-<n>`` (e.g. ``train/airplane/airplane-2``) whichever layout the root has;
track 0; the frame number is the image file's number.

Box convention: ``groundtruth.txt`` is **1-based** (MATLAB), like OTB's: the top-left pixel is ``(1, 1)``, so 1 is
subtracted from ``x`` and ``y`` (:func:`siamfc.curate.boxes.xywh_to_xyxy` with ``one_based=True``). Evidence: the
dataset's toolkit (HengLan/LaSOT_Evaluation_Toolkit, ``utils/calc_seq_err_robust.m``) is MATLAB and computes
centres as ``x + (w - 1) / 2``, OTB's inclusive 1-based rule; its issue #14 ("Is the bounding box coordinate origin 0
or 1?") reports that no box of the 1,400 videos has ``x`` or ``y`` 0, and the maintainer answers "The smallest
should be 1"; placeholder boxes are written at ``1,1`` (issue #19). The got10k toolkit (``datasets/lasot.py``,
``experiments/lasot.py``) and pytracking (``ltr/dataset/lasot.py``, ``pytracking/evaluation/lasotdataset.py``) read
the numbers as they are and compare a tracker's output in the same frame, so results must be written back 1-based
(:data:`ONE_BASED`). Boxes are not clipped (the frame's size is not in the annotation): the crop step keeps a box
reaching beyond the frame and rejects one wholly outside it.

Visibility: a frame is visible when both flags are 0. Otherwise the target is listed as hidden with
:data:`~siamfc.curate.schema.FULL_OCCLUSION` and/or :data:`~siamfc.curate.schema.OUT_OF_VIEW` and not cropped: the
maintainers say the box of such a frame "may be not annotated (i.e., assigned a random box)" (LaSOT toolkit issue
#19: e.g. ``1,1,-1,-1``), so a hidden frame's box line is neither used nor checked.

Bad input (each reported with the file, and the line where there is one; the rest of the sequence goes on):

- ``groundtruth.txt`` with fewer lines than frames: the frames without a line are skipped (one ``gt_line_count``
  entry); more lines than frames: the surplus lines are reported once. The frames are the numbers ``1 .. N`` where
  ``N`` is the highest-numbered image in ``img/`` (a gap in the numbers is a missing frame, ``frame_missing``, found
  when the frame is cropped; the suffix is ``.jpg`` or ``.jpeg`` in any case); any other file in ``img/`` is
  ``not_a_frame``, named and left alone. Blank lines at the end of ``groundtruth.txt`` are no lines.
- a box line that is not 4 finite numbers (NaN, empty, text): ``box_malformed``, that frame skipped; a zero or
  negative width or height: ``box_empty``.
- a missing ``groundtruth.txt``, ``full_occlusion.txt`` or ``out_of_view.txt``: ``label_missing``, the whole sequence
  is skipped with one entry. Without the flags there is no telling which boxes are the random placeholders of
  hidden frames, so guessing "all visible" would crop garbage as the target.
- a flag value other than 0/1: ``label_malformed``, the sequence skipped; a flag file whose value count agrees with
  neither the images nor ``groundtruth.txt`` (the file that agrees with one of them is not the one at fault):
  ``label_malformed``, one entry, the frames without a value skipped. A missing last image thus gives one
  ``gt_line_count`` entry (its line is surplus), not one per file.
- no ``img/`` folder or no image in it: ``frame_missing``, one entry, nothing cropped.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import (
    FRAME_MISSING,
    GT_LINE_COUNT,
    LABEL_MALFORMED,
    NOT_A_FRAME,
    BadInput,
    CurationError,
)
from ..paths import check_folder
from ..schema import FULL_OCCLUSION, OUT_OF_VIEW, key_fits
from .base import (
    FirstPaths,
    FrameFiles,
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_splits,
    list_frame_files,
    not_asked,
)
from .text_files import content_lines, read_box, read_flags, read_lines

SPLITS = ("train", "test")
TESTING_SET = "testing_set.txt"  # the toolkit's list of the protocol-II test videos
GROUNDTRUTH, FULL_OCCLUSION_FILE, OUT_OF_VIEW_FILE, IMAGES = (
    "groundtruth.txt", "full_occlusion.txt", "out_of_view.txt", "img")
ONE_BASED = True  # groundtruth.txt counts pixels from 1 (see the module docstring); results go back the same way
TRACK = 0  # one target per video
_NAME = re.compile(r"(.+)-([0-9]+)")
_IMAGE = re.compile(r"0*[1-9][0-9]{0,8}")  # an image's name without its suffix: frame numbers start at 1
_FLAGS = frozenset({"0", "1"})
_LOOK_AT = 64  # folders of a root looks_like examines
_NAMED = 10  # split-list names matching no video named one per line; the rest counted


@dataclass(frozen=True)
class LasotSequence(Sequence):
    """One LaSOT video: its id, split, folder and class."""

    id: str
    split: str
    folder: Path
    cls: str

    @property
    def name(self) -> str:
        """The video's name, ``<class>-<n>`` (the toolkit's sequence name)."""
        return self.folder.name

    def label_files(self) -> list[Path]:
        return [self.folder / GROUNDTRUTH, self.folder / FULL_OCCLUSION_FILE, self.folder / OUT_OF_VIEW_FILE]

    def frame_path(self, index: int) -> Path:
        """The image of frame ``index`` (the listed file, else ``img/<index:08d>.jpg``)."""
        return self._images.get(index) or self.folder / IMAGES / f"{index:08d}.jpg"

    def frame_count(self) -> int:
        return max(self._images, default=0)

    def input_files(self) -> list[Path]:
        return self.label_files() + [self._images[i] for i in sorted(self._images)] + self.stray_files()

    def read(self) -> SequenceRead:
        """Every frame 1 .. N with its box or its visibility flags; problems reported, never raised."""
        frames = self.frame_count()
        result = SequenceRead(seen=frames)
        result.skipped += [(None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame image (<number>.jpg); left "
                                                              "alone")) for path in self.stray_files()]
        try:
            lines = content_lines(self.folder / GROUNDTRUTH)
            occluded, out = (read_flags(path, _FLAGS) for path in self.label_files()[1:])
        except BadInput as bad:
            result.skipped.append((None, None, bad))
            return result
        if not frames:
            result.skipped.append((None, None, BadInput(FRAME_MISSING, f"{self.folder / IMAGES}: no frame images "
                                                                       "(<number>.jpg)")))
            return result
        result.skipped += [(None, None, bad) for bad in _count_problems(self.folder, frames, len(lines),
                                                                         (len(occluded), len(out)))]
        known = min(frames, len(lines), len(occluded), len(out))  # frames with an image, a box line and both flags
        for index in range(1, known + 1):
            flags = FULL_OCCLUSION * (occluded[index - 1] == "1") | OUT_OF_VIEW * (out[index - 1] == "1")
            if flags:  # the box of a hidden frame is a placeholder: not read
                result.frames.append(SourceFrame(index, self.frame_path(index), hidden=((TRACK, flags, self.cls),)))
                continue
            try:
                box = read_box(lines[index - 1], self.folder / GROUNDTRUTH, index, ONE_BASED)
            except BadInput as bad:
                result.skipped.append((index, TRACK, bad))
                continue
            result.frames.append(SourceFrame(index, self.frame_path(index), (SourceObject(TRACK, self.cls, box),)))
        return result

    def stray_files(self) -> list[Path]:
        return self._files.strays

    @property
    def _images(self) -> dict[int, Path]:
        return self._files.frames

    @functools.cached_property
    def _files(self) -> FrameFiles:
        """Frame number -> image file in ``img/``, and the strays (listed once per sequence; the 8-digit name wins
        a tie)."""
        return list_frame_files(self.folder / IMAGES, _IMAGE, preferred=lambda name: len(name.split(".")[0]) == 8)


def _count_problems(folder: Path, frames: int, lines: int, values: tuple[int, int]) -> list[BadInput]:
    """What is wrong with the line and value counts of a video of ``frames`` images; every frame past the shortest
    count is covered by one of them. ``groundtruth.txt`` is checked against the images; a flag file only when its
    count agrees with neither (a file that agrees with one of them is not the one at fault)."""
    gt = folder / GROUNDTRUTH
    found = []
    if lines < frames:
        found.append(BadInput(GT_LINE_COUNT, f"{gt}: {lines} lines for {frames} frames (img/ ends at frame "
                                             f"{frames}); {_frames(lines + 1, frames)} skipped"))
    elif lines > frames:
        found.append(BadInput(GT_LINE_COUNT, f"{gt}, line {frames + 1}: {lines} lines for {frames} frames (img/ "
                                             f"ends at frame {frames}); the {lines - frames} past it are ignored"))
    for name, count in zip((FULL_OCCLUSION_FILE, OUT_OF_VIEW_FILE), values, strict=True):
        if count not in (frames, lines):
            short = min(frames, lines)
            what = f"{_frames(count + 1, short)} skipped" if count < short else "the values past them are ignored"
            found.append(BadInput(LABEL_MALFORMED, f"{folder / name}: {count} values for {frames} frames and "
                                                   f"{lines} lines of {GROUNDTRUTH}; {what}"))
    return found


def _frames(first: int, last: int) -> str:
    return f"frame {first} is" if first == last else f"frames {first}-{last} are"


def _sequence_class(folder: Path, nested: bool) -> str | None:
    """The class of a sequence folder (None when it is not one): ``<class>-<n>``, under ``<class>/`` (in any case)
    if nested."""
    m = _NAME.fullmatch(folder.name)
    if not m or (nested and folder.parent.name.lower() != m[1].lower()):
        return None
    return m[1] if _video_like(folder) else None


def _video_like(folder: Path) -> bool:
    return (folder / GROUNDTRUTH).is_file() or (folder / IMAGES).is_dir()


def _not_taken(folder: Path) -> str:
    """Why a folder holding ``groundtruth.txt`` or ``img/`` is not a video of the layout (a passed-over line)."""
    m = _NAME.fullmatch(folder.name)
    if m is None:
        return f"{folder}: holds {GROUNDTRUTH} or {IMAGES}/ but its name is not <class>-<n>; not curated"
    return (f"{folder}: video of class {m[1]!r} in the folder of class {folder.parent.name!r}; move it to "
            f"{m[1]}/ to curate it")


def _complete(folder: Path) -> bool:
    return (folder / GROUNDTRUTH).is_file() and (folder / IMAGES).is_dir()


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def looks_like(root: Path) -> bool:
    """Whether ``root`` holds LaSOT videos: ``<class>/<class>-<n>/``, ``<class>-<n>/`` or is one such folder, with
    ``groundtruth.txt`` and ``img/``. Stops at the first one found, and looks at the first :data:`_LOOK_AT` folders
    only (a GOT-10k split has thousands)."""
    root = Path(root)
    if _NAME.fullmatch(root.name) and _complete(root):
        return True
    for child in _subfolders(root)[:_LOOK_AT]:
        if _NAME.fullmatch(child.name):
            if _complete(child):
                return True
            continue
        if any(_complete(p) for p in child.glob(f"{_glob_escape(child.name)}-*") if _NAME.fullmatch(p.name)):
            return True
    return False


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _discover(root: Path, passed_over: list[str]) -> list[tuple[Path, str]]:
    """(folder, class) of every video under ``root``, in any of the three layouts.

    The layout has a fixed depth, so folders are listed two levels down, not walked: a full walk would list every
    ``img/`` folder (3.5 million files). Symbolic links are followed (classes are often unpacked on several disks); a
    video folder reached a second time through another path is passed over with a line."""
    if _sequence_class(root, nested=False) and _complete(root):
        return [(root, _sequence_class(root, nested=False))]  # type: ignore[list-item]
    candidates = []
    for child in _subfolders(root):
        cls = _sequence_class(child, nested=False)
        if cls is not None:
            candidates.append((child, cls))
            continue
        if _video_like(child):
            passed_over.append(_not_taken(child))
            continue
        for p in _subfolders(child):
            if (c := _sequence_class(p, nested=True)) is not None:
                candidates.append((p, c))
            elif _video_like(p):
                passed_over.append(_not_taken(p))
    first_paths = FirstPaths(passed_over)
    return [(folder, cls) for folder, cls in candidates if first_paths.first(folder)]


def testing_set(root: Path) -> set[str] | None:
    """The video names of the ``testing_set.txt`` that applies to ``root`` (:func:`split_list`), or None."""
    path = split_list(Path(root))
    return None if path is None else set(_listed(path))


def split_list(root: Path) -> Path | None:
    """The ``testing_set.txt`` that applies to ``root``: its own, else that of the dataset root it lies in (a class
    folder or a video folder given as the root), else None."""
    for folder in (root, root.parent, root.parent.parent):
        if (folder / TESTING_SET).is_file():
            return folder / TESTING_SET
        if folder == root and _NAME.fullmatch(root.name) is None and not _subfolders_named_like(root):
            break  # a dataset root of its own (not a class or video folder): a list above it is another dataset's
    return None


def _subfolders_named_like(folder: Path) -> bool:
    """Whether ``folder`` is a class folder: its videos are named ``<its name>-<n>``."""
    return any(_NAME.fullmatch(p.name) and p.name.lower().startswith(folder.name.lower() + "-")
               for p in _subfolders(folder)[:_LOOK_AT])


def _listed(path: Path) -> dict[str, int]:
    """Video name -> line number of a ``testing_set.txt`` (CurationError if unreadable)."""
    try:
        lines = read_lines(path)
    except BadInput as bad:
        raise CurationError(bad.detail) from None
    return {line.strip(): n for n, line in reversed(list(enumerate(lines, 1))) if line.strip()}


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """The videos of the requested splits under a LaSOT root, sorted by id, and the folders passed over.

    Raises CurationError naming the root when it is missing or holds no video of those splits (saying which splits
    its videos are in)."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    listing = split_list(root)
    test = None if listing is None else _listed(listing)
    videos = _discover(root, result.passed_over)
    if listing is not None:
        result.read.append(listing)
    if listing is not None and listing.parent != root:
        result.notes.append(f"{root}: lies inside the dataset root {listing.parent}, whose {TESTING_SET} sets the "
                            "split of its videos")
    elif test is not None:
        names = {folder.name for folder, _ in videos}
        unmatched = [(n, name) for name, n in sorted(test.items(), key=lambda i: i[1]) if name not in names]
        result.passed_over += [f"{listing}, line {n}: {name!r} names no video under {root} (a misspelt name puts "
                               "its video in train)" for n, name in unmatched[:_NAMED]]
        if len(unmatched) > _NAMED:
            result.passed_over.append(f"{listing}: {len(unmatched) - _NAMED} more names match no video under {root}")
    found = {split: 0 for split in SPLITS}
    for folder, cls in videos:
        split = "test" if test is not None and folder.name in test else "train"
        found[split] += 1
        if split not in splits:
            continue
        sequence_id = f"{split}/{cls}/{folder.name}"
        if key_fits(sequence_id):
            result.sequences.append(LasotSequence(sequence_id, split, folder, cls))
        else:
            result.passed_over.append(f"{folder}: name too long for a shard key")
    if not result.sequences:
        where = ", ".join(f"{n} {s}" for s, n in found.items() if n)
        hint = f"; it has {where} (choose with --split)" if where else (
            "; expected <class>/<class>-<n>/ folders with groundtruth.txt and img/")
        raise CurationError(f"{root}: no LaSOT video for split(s) {list(splits)}{hint}")
    result.sequences.sort(key=lambda s: s.id)
    return result


def benchmark_sequences(root: str | Path) -> tuple[str, SequenceSearch]:
    """The videos to evaluate a tracker on: ``("test", ...)`` when ``testing_set.txt`` names videos under ``root``
    (the protocol-II benchmark), else ``("all", ...)`` with every video."""
    test = testing_set(Path(root))
    if test:
        try:
            return "test", search(root, ("test",))
        except CurationError:
            pass
    return "all", search(root, SPLITS)


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the run leaves alone by design: language files, the other split list, the videos of a split not
    asked for."""
    if path.name == "nlp.txt":
        return "language descriptions (nlp.txt)"
    if path.name == "training_set.txt":
        return "training_set.txt (the split follows testing_set.txt)"
    video = next((f for f in (path.parent, path.parent.parent) if _NAME.fullmatch(f.name)), None)
    if video is not None and len(splits) < len(SPLITS):
        split = "test" if video.name in _test_names(os.fspath(root)) else "train"
        return not_asked(split) if split not in splits else None
    return None


@functools.lru_cache(maxsize=4)
def _test_names(root: str) -> frozenset[str]:
    try:
        return frozenset(testing_set(Path(root)) or ())
    except CurationError:
        return frozenset()


FORMAT = SourceFormat(name="lasot", title="LaSOT", splits=SPLITS, looks_like=looks_like,
                      search=search, outside=outside)
