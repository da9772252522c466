"""COCO 2017 object instances (``--format coco``): still images, every instance a one-frame track.

Layout: ``<root>/annotations/instances_<split>2017.json`` (``images``, ``annotations``, ``categories``) and the
images in ``<root>/<split>2017/<file_name>``; splits ``train`` and ``val``. Each split's JSON is parsed once, by
:func:`search`.

Sequences: a COCO image is no video, but one snippet per image (118k for train) would cost a snippet record and an
LMDB commit each, so the images of a split, in image-id order, are grouped :data:`GROUP_SIZE` at a time into
snippets ``<split>/<split>2017-<group:03d>`` (``train/train2017-000``, ...). The grouping depends only on the image
ids (a malformed image entry keeps its place), so it is the same on every run; a group carries its images'
annotations as plain tuples (it is pickled to the workers). Frame number = the image id (``000000000139.jpg`` is
frame 139), track id = the annotation id (an int32 in COCO), class = the category's ``name`` (``person``, ``traffic
light``), the vocabulary being the JSON's ``categories``. A pair of a still image is two augmentations of the same
crop: the format says ``still_images``, the sampler does the rest. ``input_files`` is the split's JSON and the
group's images: any change to the JSON (450 MB for train) changes every group of its split under ``--refresh``,
since this module cannot tell which annotations changed without parsing the file per group.

Box convention: ``bbox`` is ``[x, y, w, h]`` in continuous image coordinates whose origin is the top-left corner
of the top-left pixel: a box that fully covers pixel columns 10..19 has ``x = 10, w = 10`` (cocoapi's
``maskApi.c`` ``rleToBbox`` writes ``x = first column, w = last - first + 1`` for a mask; ``rleFrBbox`` and
``coco.py`` ``loadRes`` take ``(x, y)`` and ``(x + w, y + h)`` as the corners of the covered area). That is the
package's 0-based ``xywh``: converted with ``xywh_to_xyxy(box)``, ``xmax = x + w - 1`` (the last covered pixel's
index), so the box centre is ``x + (w - 1) / 2`` in pixel-centre coordinates. Coordinates are fractional and kept
so. pysot's ``training_dataset/coco/par_crop.py`` crops around ``x + w / 2`` (half a pixel right of the centre:
it treats the corners as pixel centres); pytracking's ``ltr/dataset/coco_seq.py`` keeps ``[x, y, w, h]``.

What is stored, hidden, left out:

- every annotation with ``iscrowd`` 0 and a usable box is one record (COCO annotates visible instances only: no
  ``hidden`` entries);
- crowd annotations (``iscrowd`` 1: one region over many instances, e.g. a crowd of people) are not curated, as
  pysot and pytracking leave them out; they are not bad input (no skip entry) and not hidden (they are visible):
  each split's count is one line of the run summary's passed-over notes;
- boxes with ``w`` or ``h`` at most 0 are BOX_EMPTY (pysot and pytracking drop them too); positive boxes under one
  pixel are kept as annotated (their ``xmax`` is then below ``xmin``: the width ``xmax - xmin + 1`` is still
  ``w``) and left to the sampler's size filter; a box reaching more than one pixel beyond the image is
  BOX_OUTSIDE_FRAME, one reaching less is clipped to it;
- the JSON's ``width`` and ``height`` are the frame's size: a JPEG of another size is SIZE_MISMATCH.

Bad input (each skip entry names the JSON file and the annotation id, or the entry's index in its list when it has
no usable id): an annotation that is not an object, lacks a key or has a value of the wrong type
(OBJECT_MALFORMED), a ``bbox`` that is not 4 finite numbers (BOX_MALFORMED), a ``category_id`` not among the
categories (CLASS_UNKNOWN), an annotation id outside int32 (OBJECT_MALFORMED) or listed twice (DUPLICATE_TRACK,
the later ones), an ``image_id`` that names no image (OBJECT_MALFORMED), a malformed or repeated image or category
entry (XML_MALFORMED: the broken-JSON-entry reason; the image's annotations go with it, counted in that entry).
Problems tied to an image of a group are reported by that group with the image id as frame; the others (no
such image, malformed entries) by the split's first group. A missing or unreadable image is FRAME_MISSING or
FRAME_CORRUPT from the crop step. A split whose JSON cannot be read at all (not JSON, or without the three
lists), or whose JSON or image folder is missing while the other is there, is passed over with one line naming
the file: nothing of it can be curated, and the other split still is; when no split is left, CurationError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..boxes import xywh_to_xyxy
from ..errors import (
    BOX_EMPTY,
    BOX_MALFORMED,
    CLASS_UNKNOWN,
    DUPLICATE_TRACK,
    OBJECT_MALFORMED,
    XML_MALFORMED,
    BadInput,
    CurationError,
)
from ..schema import MAX_FRAME, MAX_TRACK
from .base import (
    Box,
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_in_frame,
    check_splits,
    not_asked,
)

SPLITS = ("train", "val")
GROUP_SIZE = 1000  # images per snippet; read when searching (tests lower it to get several groups from a few images)

Annotation = tuple[int, str, float, float, float, float]  # (annotation id, class name, x, y, w, h) as in the JSON
Problem = tuple[int | None, str, str]  # (track or None, skip reason, detail)
Image = tuple[int, str, int, int, tuple[Annotation, ...], tuple[Problem, ...]]
# (image id, file name, width, height, usable annotations, annotations rejected while parsing)


@dataclass(frozen=True)
class ImageGroup(Sequence):
    """:data:`GROUP_SIZE` images of one split in image-id order, with their annotations."""

    id: str
    split: str
    json_path: Path  # the split's instances JSON
    image_dir: Path  # the split's image folder (``<root>/<split>2017``)
    images: tuple[Image, ...]
    problems: tuple[tuple[int | None, int | None, str, str], ...] = ()  # (frame, track, reason, detail) of the
    # split's entries tied to no image of a group (the split's first group reports them)

    def frame_count(self) -> int:
        return len(self.images)

    def input_files(self) -> list[Path]:
        """The split's JSON and the group's images."""
        return [self.json_path] + [self.image_dir / image[1] for image in self.images]

    def read(self) -> SequenceRead:
        """One frame per image: its usable annotations as objects, the others rejected."""
        result = SequenceRead(seen=len(self.images))
        result.skipped = [(frame, track, BadInput(reason, detail)) for frame, track, reason, detail in self.problems]
        anns = [a for image in self.images for a in image[4]]
        boxes = xywh_to_xyxy(np.array([a[2:] for a in anns], dtype=np.float64).reshape(-1, 4)).tolist()
        start = 0
        for image_id, file_name, width, height, instances, rejected in self.images:
            objects, bad = [], [(track, BadInput(reason, detail)) for track, reason, detail in rejected]
            for (ann_id, cls, x, y, w, h), box in zip(instances, boxes[start : start + len(instances)],
                                                      strict=True):
                try:
                    checked = _checked_box((x, y, w, h), tuple(box), width, height,
                                           f"{self.json_path}: annotation {ann_id} (image {file_name})")
                    objects.append(SourceObject(ann_id, cls, checked))
                except BadInput as err:
                    bad.append((ann_id, err))
            start += len(instances)
            result.frames.append(SourceFrame(image_id, self.image_dir / file_name, tuple(objects),
                                             size=(width, height), rejected=tuple(bad)))
        return result


def _checked_box(xywh: tuple[float, float, float, float], box: Box, width: int, height: int, where: str) -> Box:
    """``box`` (``xyxy`` of ``xywh``) checked against the frame: BOX_EMPTY when ``w`` or ``h`` is not positive;
    a box under one pixel (which :func:`check_in_frame` calls empty) is checked through its one-pixel hull and kept as
    annotated; the others as :func:`check_in_frame` does (clipped when they reach at most a pixel beyond)."""
    if not (xywh[2] > 0 and xywh[3] > 0):
        raise BadInput(BOX_EMPTY, f"{where}: bbox {list(xywh)} has zero or negative size")
    xmin, ymin, xmax, ymax = box
    hull = (xmin, ymin, max(xmax, xmin + 1), max(ymax, ymin + 1))
    try:
        checked = check_in_frame(hull, width, height, where)
    except BadInput as bad:
        raise BadInput(bad.reason, f"{where}: bbox {list(xywh)} lies outside the {width}x{height} image") from None
    return checked if hull == box else box


def looks_like(root: Path) -> bool:
    """Whether ``root`` holds COCO 2017 instance annotations."""
    return any((root / "annotations" / f"instances_{s}2017.json").is_file() for s in SPLITS)


def search(root: Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """The image groups of the requested splits, sorted by id; splits that cannot be read are passed over with a
    line naming the file. CurationError when no group is left."""
    root = Path(root)
    check_splits(splits, SPLITS)
    found = SequenceSearch()
    for split in splits:
        json_path = root / "annotations" / f"instances_{split}2017.json"
        image_dir = root / f"{split}2017"
        if not json_path.is_file() and not image_dir.is_dir():
            continue  # the split is not there at all
        if not json_path.is_file():
            found.passed_over.append(f"{json_path}: no such file; split {split} ({image_dir}) not curated")
        elif not image_dir.is_dir():
            found.passed_over.append(f"{image_dir}: no such folder; split {split} ({json_path}) not curated")
        else:
            try:
                found.sequences += split_groups(split, json_path, image_dir, GROUP_SIZE, found.passed_over)
            except BadInput as bad:
                found.passed_over.append(f"{bad.detail}; split {split} not curated")
    if not found.sequences:
        why = "; ".join(found.passed_over) or f"no annotations/instances_<split>2017.json for {list(splits)}"
        raise CurationError(f"{root}: no COCO 2017 images to curate ({why})")
    found.sequences.sort(key=lambda s: s.id)
    return found


def split_groups(split: str, json_path: Path, image_dir: Path, group: int, notes: list[str]) -> list[ImageGroup]:
    """The groups of one split's JSON (BadInput naming the file when it cannot be read as COCO instances); the
    count of crowd annotations left out is added to ``notes``."""
    data = _load(json_path)
    where = str(json_path)
    problems: list[tuple[int | None, int | None, str, str]] = []
    classes = _categories(data["categories"], where, problems)
    images, bad_images = _images(data["images"], where, problems)
    per_image: dict[int, tuple[list[Annotation], list[Problem]]] = {i: ([], []) for i in images}
    seen_ids: set[int] = set()
    crowd = 0
    for index, ann in enumerate(data["annotations"]):
        try:
            if isinstance(ann, dict) and ann.get("iscrowd") == 1:
                crowd += 1
                continue
            parsed = _annotation(ann, index, where, classes, seen_ids)
        except _Rejected as r:
            if r.image in per_image:
                per_image[r.image][1].append((r.track, r.reason, r.detail))
            elif r.image in bad_images:
                bad_images[r.image] += 1
            else:
                problems.append((None, r.track, r.reason, r.detail))
            continue
        if parsed[0] in per_image:
            per_image[parsed[0]][0].append(parsed[1])
        elif parsed[0] in bad_images:
            bad_images[parsed[0]] += 1
        else:
            track = parsed[1][0]
            problems.append((None, track, OBJECT_MALFORMED,
                             f"{where}: annotation {track}: image_id {parsed[0]} names no image"))
    for image_id, lost in bad_images.items():
        if lost:
            problems.append((None, None, XML_MALFORMED, f"{where}: {lost} annotation(s) of the malformed image "
                                                        f"entry {image_id} are not curated"))
    if crowd:
        notes.append(f"{json_path}: {crowd} crowd annotation(s) (iscrowd 1) not curated: a crowd region is no one "
                     "object")
    if not images:
        if problems:
            notes.append(f"{json_path}: no usable image; {len(problems)} problem(s) with its entries not reported")
        return []
    groups = []
    for g, (snippet_id, ids) in enumerate(image_groups(split, [*images, *bad_images], group)):  # a malformed
        # entry keeps its place, so the other images stay in their groups
        entries = tuple((i, *images[i], tuple(per_image[i][0]), tuple(per_image[i][1])) for i in ids if i in images)
        groups.append(ImageGroup(snippet_id, split, json_path, image_dir, entries, tuple(problems) if g == 0 else ()))
    return groups


def image_groups(split: str, image_ids: Iterable[int], group: int) -> list[tuple[str, list[int]]]:
    """(snippet id, image ids) of each group of ``group`` images of a split, in image-id order: snippet ids
    ``<split>/<split>2017-000`` and on (three digits, more when there are over a thousand groups)."""
    ordered = sorted(image_ids)
    chunks = [ordered[i : i + group] for i in range(0, len(ordered), group)]
    width = max(3, len(str(len(chunks) - 1)))
    return [(f"{split}/{split}2017-{g:0{width}d}", ids) for g, ids in enumerate(chunks)]


class _Rejected(Exception):
    """An annotation entry that cannot be curated: the image it belongs to (None if unknown) and why."""

    def __init__(self, image: int | None, track: int | None, reason: str, detail: str):
        super().__init__(detail)
        self.image, self.track, self.reason, self.detail = image, track, reason, detail


_REQUIRED = ("id", "image_id", "category_id", "bbox", "iscrowd")


def _annotation(ann: object, index: int, where: str, classes: dict[int, str],
                seen: set[int]) -> tuple[int, Annotation]:
    """(image id, annotation) of a non-crowd annotation entry; _Rejected otherwise."""
    if not isinstance(ann, dict):
        raise _Rejected(None, None, OBJECT_MALFORMED, f"{where}: annotations[{index}] is not an object")
    ann_id = _whole(ann.get("id"), MAX_TRACK)
    image_id = _whole(ann.get("image_id"), MAX_FRAME)
    name = f"annotation {ann_id}" if ann_id is not None else f"annotations[{index}]"

    def reject(reason: str, what: str) -> _Rejected:
        return _Rejected(image_id, ann_id, reason, f"{where}: {name}: {what}")

    missing = [k for k in _REQUIRED if k not in ann]
    if missing:
        raise reject(OBJECT_MALFORMED, f"lacks {', '.join(repr(k) for k in missing)}")
    if ann_id is None:
        raise reject(OBJECT_MALFORMED, f"id {ann['id']!r} is not a whole number in [0, {MAX_TRACK}]")
    if image_id is None:
        raise reject(OBJECT_MALFORMED, f"image_id {ann['image_id']!r} is not a whole number in [0, {MAX_FRAME}]")
    if ann["iscrowd"] != 0 or isinstance(ann["iscrowd"], bool):
        raise reject(OBJECT_MALFORMED, f"iscrowd {ann['iscrowd']!r} is neither 0 nor 1")
    if ann_id in seen:
        raise reject(DUPLICATE_TRACK, "annotation id already used by an earlier entry")
    seen.add(ann_id)
    category = _whole(ann["category_id"], MAX_TRACK)
    if category not in classes:
        raise reject(CLASS_UNKNOWN, f"category_id {ann['category_id']!r} is not among the categories")
    bbox = ann["bbox"]
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_finite(v) for v in bbox)):
        raise reject(BOX_MALFORMED, f"bbox {bbox!r} is not 4 finite numbers x, y, w, h")
    return image_id, (ann_id, classes[category], *(float(v) for v in bbox))  # type: ignore[return-value]


def _categories(entries: list, where: str, problems: list) -> dict[int, str]:
    """category id -> name; malformed or repeated entries are reported (their annotations are CLASS_UNKNOWN)."""
    classes: dict[int, str] = {}
    for index, entry in enumerate(entries):
        cid = _whole(entry.get("id"), MAX_TRACK) if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        if cid is None or not isinstance(name, str) or not name.strip():
            problems.append((None, None, XML_MALFORMED, f"{where}: categories[{index}] {entry!r} lacks a whole "
                                                        "id or a name"))
        elif cid in classes:
            problems.append((None, None, XML_MALFORMED, f"{where}: category id {cid} listed twice "
                                                        f"({classes[cid]!r} kept, {name!r} left out)"))
        else:
            classes[cid] = name.strip()
    return classes


def _images(entries: list, where: str, problems: list) -> tuple[dict[int, tuple[str, int, int]], dict[int, int]]:
    """(image id -> (file name, width, height), malformed image id -> its annotation count, 0 until counted)."""
    images: dict[int, tuple[str, int, int]] = {}
    bad: dict[int, int] = {}
    for index, entry in enumerate(entries):
        image_id = _whole(entry.get("id"), MAX_FRAME) if isinstance(entry, dict) else None
        name = f"image {image_id}" if image_id is not None else f"images[{index}]"
        try:
            if not isinstance(entry, dict) or image_id is None:
                raise ValueError(f"has no whole id in [0, {MAX_FRAME}]")
            if image_id in images or image_id in bad:
                raise ValueError("listed twice (the first entry is kept)")
            file_name, width, height = entry.get("file_name"), entry.get("width"), entry.get("height")
            if not isinstance(file_name, str) or not _relative(file_name):
                raise ValueError(f"file_name {file_name!r} is not a relative file path")
            size = (_whole(width, 1 << 16), _whole(height, 1 << 16))
            if not all(size):
                raise ValueError(f"size {width!r}x{height!r} is not two positive whole numbers")
        except ValueError as err:
            problems.append((None, None, XML_MALFORMED, f"{where}: {name}: {err}"))
            if image_id is not None and image_id not in images:
                bad[image_id] = 0
            continue
        images[image_id] = (file_name, *size)  # type: ignore[assignment]
    return images, bad


def _load(json_path: Path) -> dict:
    """The parsed JSON with its three lists; BadInput naming the file otherwise."""
    try:
        with open(json_path, "rb") as f:
            data = json.load(f)
    except OSError as err:
        raise BadInput(XML_MALFORMED, f"{json_path}: {err.strerror}") from None
    except (ValueError, RecursionError) as err:
        raise BadInput(XML_MALFORMED, f"{json_path}: not readable JSON ({err})") from None
    lacking = [k for k in ("images", "annotations", "categories")
               if not isinstance(data, dict) or not isinstance(data.get(k), list)]
    if lacking:
        raise BadInput(XML_MALFORMED, f"{json_path}: not COCO instances (no {', '.join(lacking)} list)")
    return data


def _whole(value: object, high: int) -> int | None:
    """A whole number in [0, high] (``7`` or ``7.0``), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= value <= high else None


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _relative(name: str) -> bool:
    """A file path inside the image folder: relative, no ``..``."""
    path = PurePosixPath(name)
    return bool(name.strip()) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the run leaves alone by design: other annotations, unannotated images, a split not asked for."""
    parts = path.relative_to(root).parts
    for split in SPLITS:
        if parts[0] == f"{split}2017" or parts[-1] == f"instances_{split}2017.json":
            return not_asked(split) if split not in splits else None
    if parts[0] == "annotations":
        return "other COCO annotations (captions, keypoints, ...)"
    if parts[0] in ("test2017", "unlabeled2017"):
        return "images without annotations (test2017, unlabeled2017)"
    return None


FORMAT = SourceFormat(name="coco", title="COCO 2017", splits=SPLITS, looks_like=looks_like, search=search,
                      still_images=True, outside=outside)
