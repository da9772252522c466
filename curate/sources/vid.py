"""ImageNet VID (ILSVRC2015): finding snippets and parsing per-frame XML (``--format vid``).

Layout: ``Annotations/VID/<split>/.../<snippet>/<frame:06d>.xml`` beside ``Data/VID/<split>/.../<snippet>/
<frame:06d>.JPEG``; splits ``train`` and ``val``. Box convention: ``<bndbox>`` ``xmin, ymin, xmax, ymax`` are
0-based *inclusive* pixel indices (width ``xmax - xmin + 1``), the package's ``xyxy``; kept as they are, clipped
when they reach at most one pixel beyond the frame. Classes: the 30 WordNet ids (:data:`VID_CLASSES`). Every
annotated object is visible; ``occluded`` and ``generated`` are kept.

Snippet ids are paths relative to ``Annotations/VID`` with ``/`` separators, e.g.
``train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000`` or ``val/ILSVRC2015_val_00000000``;
the same relative path under ``Data/VID`` holds the frames (``000000.JPEG``, ...).

Folders are found through symbolic links (dumps spread over several disks are often linked together); a link
that leads back into a folder being walked, or to a folder already found by another path, is not followed
again and is reported. In a snippet folder only ``<number>.xml`` files are frame annotations; any other file is
reported (``not_a_frame``) and left alone. Box coordinates may be written as whole-number floats (``421.0``);
fractional ones are kept as they are (the crop geometry is continuous); non-finite ones reject the object.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from xml.parsers.expat import ExpatError

import xmltodict

from ..errors import (
    CLASS_UNKNOWN,
    DUPLICATE_TRACK,
    NOT_A_FRAME,
    OBJECT_MALFORMED,
    XML_MALFORMED,
    BadInput,
    CurationError,
)
from ..paths import check_folder
from ..schema import MAX_TRACK, key_fits
from .base import (
    FrameFiles,
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_in_frame,
    check_splits,
    folders_where,
    list_frame_files,
    not_asked,
)
from .vid_classes import VID_CLASSES, WNIDS

SPLITS = ("train", "val")


@dataclass(frozen=True)
class Snippet(Sequence):
    """One video snippet: its id, split and where its annotations and frames live."""

    id: str
    split: str
    ann_dir: Path
    data_dir: Path

    def xml_files(self) -> list[Path]:
        """The snippet's per-frame XML files (``<number>.xml``, one per frame number) in frame order."""
        return self._listing[0]

    def frame_path(self, index: int) -> Path:
        """The JPEG of frame ``index`` (``.JPEG``, or another case of ``.jpg``/``.jpeg``; its expected name when
        missing)."""
        return self._data.frames.get(index) or self.data_dir / f"{index:06d}.JPEG"

    def input_files(self) -> list[Path]:
        """Every file the snippet's curation reads or reports: annotations, stray files, frames."""
        xml = self.xml_files()
        return xml + self.stray_files() + [self.frame_path(int(p.stem)) for p in xml]

    def frame_count(self) -> int:
        return len(self.xml_files())

    def read(self) -> SequenceRead:
        """Every frame's XML parsed; stray files and unusable XML files are reported."""
        result = SequenceRead(seen=len(self.xml_files()))
        for path in self._listing[1]:
            result.skipped.append((None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame annotation "
                                                                      "(<number>.xml); left alone")))
        for path in self._data.strays:
            result.skipped.append((None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame image "
                                                                      "(<number>.JPEG); left alone")))
        for xml_path in self.xml_files():
            try:
                result.frames.append(parse_frame(xml_path, self.frame_path(int(xml_path.stem))))
            except BadInput as bad:
                result.skipped.append((int(xml_path.stem), None, bad))
        return result

    def stray_files(self) -> list[Path]:
        """Files in the snippet's annotation folder that are not frame annotations, including a second file for
        a frame number (``1.xml`` beside ``000001.xml``: the zero-padded name is the frame's)."""
        return self._listing[1] + self._data.strays

    @functools.cached_property
    def _data(self) -> FrameFiles:
        """The frame images of the snippet's data folder, and the files there that are not frames."""
        return list_frame_files(self.data_dir, _NUMBER_NAME, preferred=lambda name: len(name) == 11)

    @functools.cached_property
    def _listing(self) -> tuple[list[Path], list[Path]]:
        """(frame annotations, stray files) of the annotation folder, listed once per snippet."""
        frames: dict[int, Path] = {}
        strays = []
        for p in sorted(self.ann_dir.iterdir(), key=lambda p: (len(p.name) != 10, p.name)):  # NNNNNN.xml first
            if not _FRAME_XML.fullmatch(p.name):
                if not p.is_dir():
                    strays.append(p)
            elif int(p.stem) in frames:
                strays.append(p)
            else:
                frames[int(p.stem)] = p
        return [frames[i] for i in sorted(frames)], sorted(strays)


_FRAME_XML = re.compile(r"[0-9]{1,9}\.xml")  # frame numbers are int32 manifest values
_NUMBER_NAME = re.compile(r"[0-9]{1,9}")  # a frame image's name without its suffix


def looks_like(root: Path) -> bool:
    """Whether ``root`` is an ILSVRC2015 tree."""
    return (root / "Annotations" / "VID").is_dir()


def find_snippets(root: str | Path, splits: tuple[str, ...] = SPLITS) -> list[Snippet]:
    """All snippets of the requested splits under an ILSVRC2015 root, sorted by id (see :func:`search_snippets`)."""
    return search_snippets(root, splits).sequences  # type: ignore[return-value]


def search_snippets(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """All snippets of the requested splits under an ILSVRC2015 root, sorted by id, and the folders passed over.

    Raises CurationError naming the path when the root or its ``Annotations/VID`` and
    ``Data/VID`` folders are missing, or when no snippet is found.
    """
    root = check_folder(root)
    ann_root, data_root = root / "Annotations" / "VID", root / "Data" / "VID"
    for required in (ann_root, data_root):
        if not required.is_dir():
            raise CurationError(
                f"{required}: no such folder; expected an ILSVRC2015 tree with Annotations/VID and Data/VID"
            )
    check_splits(splits, SPLITS)
    search = SequenceSearch()
    for split in splits:
        split_dir = ann_root / split
        if split_dir.is_dir():
            for ann_dir in folders_where(split_dir, _holds_xml, search.passed_over):
                rel = ann_dir.relative_to(ann_root).as_posix()
                if key_fits(rel):
                    search.sequences.append(Snippet(rel, split, ann_dir, data_root / rel))
                else:
                    search.passed_over.append(f"{ann_dir}: path too long for a shard key")
    if not search.sequences:
        raise CurationError(f"{ann_root}: no snippet with .xml annotations for split(s) {list(splits)}")
    search.sequences.sort(key=lambda s: s.id)
    return search


def _holds_xml(_: str, __: list[str], filenames: list[str]) -> bool:
    return any(name.endswith(".xml") for name in filenames)


def parse_frame(xml_path: Path, image: Path | None = None) -> SourceFrame:
    """Parse one frame's XML (``image``: its JPEG, default beside nothing). Raises BadInput(XML_MALFORMED) for a
    file that is not usable at all; objects with bad fields, unknown classes, duplicate track ids or bad boxes are
    returned in ``rejected`` instead of ``objects``."""
    try:
        ann = xmltodict.parse(xml_path.read_bytes())["annotation"]
        width, height = _whole(ann["size"]["width"]), _whole(ann["size"]["height"])
    except (ExpatError, KeyError, TypeError, ValueError) as err:
        raise BadInput(XML_MALFORMED, f"{xml_path}: {type(err).__name__}: {err}") from None
    except OSError as err:
        raise BadInput(XML_MALFORMED, f"{xml_path}: {err.strerror}") from None
    if width <= 0 or height <= 0:
        raise BadInput(XML_MALFORMED, f"{xml_path}: frame size {width}x{height}")
    raw = ann.get("object") or []
    objects, rejected, seen = [], [], set()
    for item in raw if isinstance(raw, list) else [raw]:
        try:
            obj = _parse_object(item, width, height, xml_path)
            if obj.track in seen:
                raise BadInput(DUPLICATE_TRACK, f"{xml_path}: trackid {obj.track} appears twice")
            seen.add(obj.track)
            objects.append(obj)
        except BadInput as bad:
            rejected.append((_track_of(item), bad))
    return SourceFrame(int(xml_path.stem), image if image is not None else xml_path.with_suffix(".JPEG"),
                       tuple(objects), size=(width, height), rejected=tuple(rejected))


def _parse_object(item: object, width: int, height: int, xml_path: Path) -> SourceObject:
    try:
        bb = item["bndbox"]  # type: ignore[index]
        box = (_coordinate(bb["xmin"]), _coordinate(bb["ymin"]), _coordinate(bb["xmax"]), _coordinate(bb["ymax"]))
        obj = SourceObject(
            track=_whole(item["trackid"]),  # type: ignore[index]
            cls=str(item["name"]).strip(),  # type: ignore[index]
            box=box,
            occluded=_whole(item.get("occluded") or 0, 0, 1),  # type: ignore[union-attr]
            generated=_whole(item.get("generated") or 0, 0, 1),  # type: ignore[union-attr]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInput(OBJECT_MALFORMED, f"{xml_path}: <object> {type(err).__name__}: {err}") from None
    if obj.cls not in VID_CLASSES:
        raise BadInput(CLASS_UNKNOWN, f"{xml_path}: class {obj.cls!r} is not an ImageNet VID class")
    return dataclasses.replace(obj, box=check_in_frame(obj.box, width, height, str(xml_path)))


_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _coordinate(text: object) -> float:
    """A box coordinate: a finite decimal number; whole numbers (``421`` or ``421.0``) come back as int."""
    if text is None or not str(text).strip():
        raise ValueError("missing value")
    if not _NUMBER.fullmatch(str(text).strip()):
        raise ValueError(f"{text!r} is not a decimal number")
    value = float(str(text).strip())
    if not math.isfinite(value) or abs(value) > 1e9:
        raise ValueError(f"coordinate {text!r} is not a finite number of pixels")
    return int(value) if value.is_integer() else value


def _whole(text: object, low: int = 0, high: int = MAX_TRACK) -> int:
    """An integer field in [low, high] (``7`` or ``7.0``); ValueError otherwise."""
    value = _coordinate(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{text!r} is not a whole number in [{low}, {high}]")
    return value


def _track_of(item: object) -> int | None:
    try:
        return int(item["trackid"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


def class_label(wnid: str) -> str:
    """Readable name of a WordNet id; unknown ids are returned unchanged."""
    return VID_CLASSES.get(wnid, wnid)


def resolve_classes(names: list[str]) -> tuple[str, ...]:
    """A class filter given as WordNet ids or readable names (``domestic_cat`` for ``domestic cat``) -> WordNet ids
    in the official order."""
    by_name = {v: k for k, v in VID_CLASSES.items()}
    wnids = []
    for name in names:
        wnid = name if name in VID_CLASSES else by_name.get(name.replace("_", " "))
        if wnid is None:
            raise CurationError(f"unknown class {name!r}; use a WordNet id or one of: {', '.join(by_name)}")
        wnids.append(wnid)
    return tuple(sorted(set(wnids), key=WNIDS.index))


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the run leaves alone by design: split lists, ImageNet DET, the test split, a split not asked for."""
    parts = path.relative_to(root).parts
    if parts[0] == "ImageSets":
        return "split lists (ImageSets)"
    if len(parts) > 2 and parts[0] in ("Annotations", "Data") and parts[1] == "DET":
        return "ImageNet DET (still images)"
    if len(parts) > 3 and parts[0] in ("Annotations", "Data") and parts[1] == "VID":
        if parts[2] == "test":
            return "test split (not annotated)"
        if parts[2] in SPLITS and parts[2] not in splits:
            return not_asked(parts[2])
    return None


FORMAT = SourceFormat(
    name="vid", title="ImageNet VID (ILSVRC2015)", splits=SPLITS, looks_like=looks_like,
    search=lambda root, splits: search_snippets(root, splits), known_classes=WNIDS, class_label=class_label,
    resolve_classes=resolve_classes, outside=outside,
)
