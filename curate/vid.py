"""The ImageNet VID (ILSVRC2015) tree: finding snippets and parsing per-frame XML into records.

Snippet ids are paths relative to ``Annotations/VID`` with ``/`` separators, e.g.
``train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000`` or ``val/ILSVRC2015_val_00000000``;
the same relative path under ``Data/VID`` holds the frames (``000000.JPEG``, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
        """The snippet's per-frame XML files in frame order."""
        return sorted(p for p in self.ann_dir.iterdir() if p.suffix == ".xml")


@dataclass(frozen=True)
class VidObject:
    """One annotated object in one frame; box in VID ``xyxy`` (inclusive pixel indices)."""

    track: int
    wnid: str
    box: tuple[int, int, int, int]
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
    """All snippets of the requested splits under an ILSVRC2015 root, sorted by id.

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
    snippets = []
    for split in splits:
        split_dir = ann_root / split
        if split_dir.is_dir():
            for ann_dir in _dirs_with_xml(split_dir):
                rel = ann_dir.relative_to(ann_root).as_posix()
                snippets.append(Snippet(rel, split, ann_dir, data_root / rel))
    if not snippets:
        raise CurationError(f"{ann_root}: no snippet with .xml annotations for split(s) {list(splits)}")
    return sorted(snippets, key=lambda s: s.id)


def _dirs_with_xml(top: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        if any(name.endswith(".xml") for name in filenames):
            found.append(Path(dirpath))
    return found


def parse_frame(xml_path: Path) -> VidFrame:
    """Parse one frame's XML. Raises BadInput(XML_MALFORMED) for a file that is not usable at all;
    objects with bad fields, unknown classes, duplicate track ids or bad boxes are returned in
    ``rejected`` instead of ``objects``."""
    try:
        ann = xmltodict.parse(xml_path.read_bytes())["annotation"]
        width, height = int(ann["size"]["width"]), int(ann["size"]["height"])
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
        box = (int(bb["xmin"]), int(bb["ymin"]), int(bb["xmax"]), int(bb["ymax"]))
        obj = VidObject(
            track=int(item["trackid"]),  # type: ignore[index]
            wnid=str(item["name"]).strip(),  # type: ignore[index]
            box=box,
            occluded=int(item.get("occluded") or 0),  # type: ignore[union-attr]
            generated=int(item.get("generated") or 0),  # type: ignore[union-attr]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadInput(OBJECT_MALFORMED, f"{xml_path}: <object> {type(err).__name__}: {err}") from None
    if obj.wnid not in VID_CLASSES:
        raise BadInput(CLASS_UNKNOWN, f"{xml_path}: class {obj.wnid!r} is not an ImageNet VID class")
    return VidObject(obj.track, obj.wnid, check_box(obj.box, width, height, xml_path), obj.occluded, obj.generated)


def check_box(box: tuple[int, int, int, int], width: int, height: int, where: Path) -> tuple[int, int, int, int]:
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
