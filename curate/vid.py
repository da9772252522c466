"""The ImageNet VID (ILSVRC2015) tree: finding snippets and parsing per-frame XML into records.

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

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers.expat import ExpatError

import xmltodict

from .classes import VID_CLASSES
from .errors import (
    BOX_EMPTY,
    BOX_OUTSIDE_FRAME,
    CLASS_UNKNOWN,
    DUPLICATE_TRACK,
    OBJECT_MALFORMED,
    XML_MALFORMED,
    BadInput,
    CurationError,
)
from .format import MAX_TRACK, key_fits

SPLITS = ("train", "val")
BOX_TOLERANCE = 1  # pixels a box may reach beyond the frame before it counts as bad input


@dataclass(frozen=True)
class Snippet:
    """One video snippet: its id, split and where its annotations and frames live."""

    id: str
    split: str
    ann_dir: Path
    data_dir: Path

    def xml_files(self) -> list[Path]:
        """The snippet's per-frame XML files (``<number>.xml``, one per frame number) in frame order."""
        return self._listing[0]

    def frame_path(self, index: int) -> Path:
        """The JPEG of frame ``index``."""
        return self.data_dir / f"{index:06d}.JPEG"

    def input_files(self) -> list[Path]:
        """Every file the snippet's curation reads or reports: annotations, stray files, frames."""
        xml = self.xml_files()
        return xml + self.stray_files() + [self.frame_path(int(p.stem)) for p in xml]

    def stray_files(self) -> list[Path]:
        """Files in the snippet's annotation folder that are not frame annotations, including a second file for
        a frame number (``1.xml`` beside ``000001.xml``: the zero-padded name is the frame's)."""
        return self._listing[1]

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


@dataclass
class SnippetSearch:
    """The snippets found under a root, and the folders passed over (one line each, naming the folder)."""

    snippets: list[Snippet] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VidObject:
    """One annotated object in one frame; box in VID ``xyxy`` (inclusive pixel indices)."""

    track: int
    wnid: str
    box: tuple[float, float, float, float]  # whole numbers in real VID annotations
    occluded: int
    generated: int


@dataclass(frozen=True)
class VidFrame:
    """One frame's annotation: index, size, objects, and the objects that were rejected."""

    index: int
    width: int
    height: int
    objects: tuple[VidObject, ...]
    rejected: tuple[tuple[int | None, BadInput], ...]  # (trackid if known, why)


def find_snippets(root: str | Path, splits: tuple[str, ...] = SPLITS) -> list[Snippet]:
    """All snippets of the requested splits under an ILSVRC2015 root, sorted by id (see :func:`search_snippets`)."""
    return search_snippets(root, splits).snippets


def search_snippets(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SnippetSearch:
    """All snippets of the requested splits under an ILSVRC2015 root, sorted by id, and the folders passed over.

    Raises CurationError naming the path when the root or its ``Annotations/VID`` and
    ``Data/VID`` folders are missing, or when no snippet is found.
    """
    root = Path(root)
    ann_root, data_root = root / "Annotations" / "VID", root / "Data" / "VID"
    for required in (root, ann_root, data_root):
        if not required.is_dir():
            raise CurationError(
                f"{required}: no such folder; expected an ILSVRC2015 tree with Annotations/VID and Data/VID"
            )
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise CurationError(f"unknown split(s) {sorted(unknown)}; choose from {list(SPLITS)}")
    search = SnippetSearch()
    for split in splits:
        split_dir = ann_root / split
        if split_dir.is_dir():
            for ann_dir in _dirs_with_xml(split_dir, search.passed_over):
                rel = ann_dir.relative_to(ann_root).as_posix()
                if key_fits(rel):
                    search.snippets.append(Snippet(rel, split, ann_dir, data_root / rel))
                else:
                    search.passed_over.append(f"{ann_dir}: path too long for a shard key")
    if not search.snippets:
        raise CurationError(f"{ann_root}: no snippet with .xml annotations for split(s) {list(splits)}")
    search.snippets.sort(key=lambda s: s.id)
    return search


def _dirs_with_xml(top: Path, passed_over: list[str]) -> list[Path]:
    """Folders under ``top`` holding .xml files, following symbolic links; each real folder is visited once, by
    its plain path when it has one under ``top`` (a link to it is passed over, whatever the names' order)."""
    plain = {os.path.realpath(d) for d, _, _ in os.walk(top)}  # reached without following any link
    found, seen = [], set(plain)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        keep = []
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            real = os.path.realpath(path)
            if not os.path.islink(path) and real in plain:
                keep.append(name)
            elif real in seen:
                passed_over.append(f"{path}: reaches a folder found by another path ({real})")
            else:
                seen.add(real)
                keep.append(name)
        dirnames[:] = keep
        if any(name.endswith(".xml") for name in filenames):
            found.append(Path(dirpath))
    return found


def parse_frame(xml_path: Path) -> VidFrame:
    """Parse one frame's XML. Raises BadInput(XML_MALFORMED) for a file that is not usable at all;
    objects with bad fields, unknown classes, duplicate track ids or bad boxes are returned in
    ``rejected`` instead of ``objects``."""
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
    return VidFrame(int(xml_path.stem), width, height, tuple(objects), tuple(rejected))


def _parse_object(item: object, width: int, height: int, xml_path: Path) -> VidObject:
    try:
        bb = item["bndbox"]  # type: ignore[index]
        box = (_coordinate(bb["xmin"]), _coordinate(bb["ymin"]), _coordinate(bb["xmax"]), _coordinate(bb["ymax"]))
        obj = VidObject(
            track=_whole(item["trackid"]),  # type: ignore[index]
            wnid=str(item["name"]).strip(),  # type: ignore[index]
            box=box,
            occluded=_whole(item.get("occluded") or 0, 0, 1),  # type: ignore[union-attr]
            generated=_whole(item.get("generated") or 0, 0, 1),  # type: ignore[union-attr]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInput(OBJECT_MALFORMED, f"{xml_path}: <object> {type(err).__name__}: {err}") from None
    if obj.wnid not in VID_CLASSES:
        raise BadInput(CLASS_UNKNOWN, f"{xml_path}: class {obj.wnid!r} is not an ImageNet VID class")
    return VidObject(obj.track, obj.wnid, check_box(obj.box, width, height, xml_path), obj.occluded, obj.generated)


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


def check_box(box: tuple[float, float, float, float], width: int, height: int,
              where: Path) -> tuple[float, float, float, float]:
    """Validate a VID box against its frame; clip it when it overshoots by at most BOX_TOLERANCE."""
    xmin, ymin, xmax, ymax = box
    if xmax <= xmin or ymax <= ymin:  # xmax == xmin is zero-width for every VID tool
        raise BadInput(BOX_EMPTY, f"{where}: box {box} has zero or negative size")
    t = BOX_TOLERANCE
    if xmin < -t or ymin < -t or xmax > width - 1 + t or ymax > height - 1 + t:
        raise BadInput(BOX_OUTSIDE_FRAME, f"{where}: box {box} lies outside the {width}x{height} frame")
    clipped = (max(xmin, 0), max(ymin, 0), min(xmax, width - 1), min(ymax, height - 1))
    if clipped[2] < clipped[0] or clipped[3] < clipped[1]:
        raise BadInput(BOX_OUTSIDE_FRAME, f"{where}: box {box} lies outside the {width}x{height} frame")
    return clipped


def _track_of(item: object) -> int | None:
    try:
        return int(item["trackid"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
