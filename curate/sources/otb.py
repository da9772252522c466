"""OTB-2015 (``--format otb``), with OTB-2013 and OTB-50 as named subsets of the same folder.

Layout (the benchmark's download, one zip per sequence unpacked side by side): ``<root>/<seq>/img/0001.jpg ...``
(``%04d.jpg``; Board's are ``%05d``: any zero padding is read, the number counts) and
``<root>/<seq>/groundtruth_rect.txt``, one ``x,y,w,h`` line per frame, the numbers separated by commas, tabs or
spaces (all three occur). A sequence with two targets has ``groundtruth_rect.1.txt`` and ``groundtruth_rect.2.txt``
instead: Jogging and Skating2 give two sequences each, ``Jogging.1`` and ``Jogging.2`` (the got10k toolkit's names);
an empty file is no target (Human4's ``groundtruth_rect.1.txt``: Human4 is its ``.2.txt``, named ``Human4``) and is
left alone. Snippet ids are ``test/<name>`` (``test/Jogging.1``): OTB is a benchmark, its one split is ``test``
(``siamfc curate --format otb`` curates it all the same); track 0, class ``""`` (OTB has no classes).

Frames (the toolkit's ``configSeqs``, which the got10k toolkit's ``datasets/otb.py`` and pytracking's
``evaluation/otbdataset.py`` copy): line ``n`` is image ``start + n - 1``, ``start`` 1 except where the benchmark
annotates a range of the images (:data:`FRAME_RANGES`): David 300-770, Football1 1-74, Freeman3 1-460, Freeman4
1-283, Diving 1-215 (images past the range have no box), and BlurCar1 247-988, BlurCar3 3-359, BlurCar4 18-397
(images numbered from there). Frames are matched by number, never by sorted position. Not applied here, being a
choice of the evaluation: Tiger1's ``initOmit`` of 5 (pytracking starts tracking at its frame 6; the got10k toolkit
does not).

Box convention: **1-based** (MATLAB): the toolkit computes centres as ``x + (w - 1) / 2`` on the numbers as they are,
and its images are indexed from 1, so 1 is subtracted from ``x`` and ``y``
(:func:`siamfc.curate.boxes.xywh_to_xyxy` with ``one_based=True``, :data:`ONE_BASED`); results written back for the
toolkit are 1-based too. OTB has no visibility annotation: every annotated frame is visible (a line of four NaN,
which OTB does not write, would be a hidden frame). Bad input follows
:class:`~siamfc.curate.sources.sequences.BoxFileSequence`; a ranged sequence whose line count differs from its range
is reported (``gt_line_count``) and its frames past the shorter of the two are left out.

Subsets: :data:`OTB2013` (51 targets in 50 folders: Jogging's two) and :data:`OTB50` (TB-50, 50 targets: Skating2's
two) name the folders of the got10k toolkit's lists; OTB-2015 (OTB-100) is every folder (:data:`OTB100`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import CurationError
from ..paths import check_folder
from ..schema import key_fits
from .base import FirstPaths, SequenceSearch, SourceFormat, check_splits
from .sequences import BoxFileSequence
from .text_files import read_lines

SPLITS = ("test",)
ONE_BASED = True
IMAGES = "img"
GT = re.compile(r"groundtruth_rect(?:\.([0-9]+))?\.txt")
# 1-based inclusive image ranges of the sequences whose box file does not start at image 1 or stops before the last
FRAME_RANGES = {"david": (300, 770), "football1": (1, 74), "freeman3": (1, 460), "freeman4": (1, 283),
                "diving": (1, 215), "blurcar1": (247, 988), "blurcar3": (3, 359), "blurcar4": (18, 397)}
OTB2013 = ("Basketball", "Bolt", "Boy", "Car4", "CarDark", "CarScale", "Coke", "Couple", "Crossing", "David", "David2",
           "David3", "Deer", "Dog1", "Doll", "Dudek", "FaceOcc1", "FaceOcc2", "Fish", "FleetFace", "Football",
           "Football1", "Freeman1", "Freeman3", "Freeman4", "Girl", "Ironman", "Jogging", "Jumping", "Lemming",
           "Liquor", "Matrix", "Mhyang", "MotorRolling", "MountainBike", "Shaking", "Singer1", "Singer2", "Skating1",
           "Skiing", "Soccer", "Subway", "Suv", "Sylvester", "Tiger1", "Tiger2", "Trellis", "Walking", "Walking2",
           "Woman")
OTB50 = ("Basketball", "Biker", "Bird1", "BlurBody", "BlurCar2", "BlurFace", "BlurOwl", "Bolt", "Box", "Car1", "Car4",
         "CarDark", "CarScale", "ClifBar", "Couple", "Crowds", "David", "Deer", "Diving", "DragonBaby", "Dudek",
         "Football", "Freeman4", "Girl", "Human3", "Human4", "Human6", "Human9", "Ironman", "Jump", "Jumping",
         "Liquor", "Matrix", "MotorRolling", "Panda", "RedTeam", "Shaking", "Singer2", "Skating1", "Skating2",
         "Skiing", "Soccer", "Surfer", "Sylvester", "Tiger2", "Trellis", "Walking", "Walking2", "Woman")
OTB100 = tuple(sorted(OTB50 + (
    "Bird2", "BlurCar1", "BlurCar3", "BlurCar4", "Board", "Bolt2", "Boy", "Car2", "Car24", "Coke", "Coupon",
    "Crossing", "Dancer", "Dancer2", "David2", "David3", "Dog", "Dog1", "Doll", "FaceOcc1", "FaceOcc2", "Fish",
    "FleetFace", "Football1", "Freeman1", "Freeman3", "Girl2", "Gym", "Human2", "Human5", "Human7", "Human8",
    "Jogging", "KiteSurf", "Lemming", "Man", "Mhyang", "MountainBike", "Rubik", "Singer1", "Skater", "Skater2",
    "Subway", "Suv", "Tiger1", "Toy", "Trans", "Twinnings", "Vase")))


def subset(names: tuple[str, ...], sequence_name: str) -> bool:
    """Whether a sequence (``Jogging.1`` or ``Basketball``) belongs to the subset of folder ``names``."""
    return sequence_name.split(".", 1)[0] in names


def _target_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(box files with a target, empty box files) of a sequence folder, in name order."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if GT.fullmatch(e.name) and e.is_file())
    except OSError:
        return [], []
    full, empty = [], []
    for name in names:
        try:
            blank = not any(line.strip() for line in read_lines(folder / name))
        except Exception:  # noqa: BLE001 - an unreadable file is the sequence's problem, reported when read
            blank = False
        (empty if blank else full).append(folder / name)
    return full, empty


def _is_sequence(folder: Path) -> bool:
    try:
        if not (folder / IMAGES).is_dir():
            return False
        with os.scandir(folder) as entries:  # closed also when any() stops early
            return any(GT.fullmatch(e.name) for e in entries)
    except OSError:
        return False


def looks_like(root: Path) -> bool:
    """Whether ``root`` holds OTB sequence folders (``<seq>/img/`` beside ``groundtruth_rect*.txt``) or is one."""
    root = Path(root)
    if _is_sequence(root):
        return True
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())[:64]
    except OSError:
        return False
    return any(_is_sequence(p) for p in children)


def sequences_of(folder: Path) -> list[BoxFileSequence]:
    """The sequences of one OTB folder: one per box file with a target."""
    full, _ = _target_files(folder)
    start, end = FRAME_RANGES.get(folder.name.lower(), (1, None))
    found = []
    for k, path in enumerate(full):
        index = GT.fullmatch(path.name)[1]
        name = f"{folder.name}.{index}" if index is not None and len(full) > 1 else folder.name
        found.append(BoxFileSequence(
            f"test/{name}", "test", folder / IMAGES, path, first=start,
            expected=None if end is None else end - start + 1, one_based=ONE_BASED,
            whole_folder=end is None and start == 1, reports_strays=k == 0))
    return found


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """Every OTB sequence under ``root`` (a folder of sequence folders, or one), sorted by id."""
    root = check_folder(root)
    check_splits(splits, SPLITS)
    result = SequenceSearch()
    folders = [root] if _is_sequence(root) else sorted(p for p in root.iterdir() if p.is_dir())
    first_paths = FirstPaths(result.passed_over)
    for folder in folders:
        if not _is_sequence(folder):
            if (folder / IMAGES).is_dir():
                result.passed_over.append(f"{folder}: img/ without groundtruth_rect.txt; not an OTB sequence")
            continue
        if not first_paths.first(folder):
            continue
        found = sequences_of(folder)
        if not found:
            result.passed_over.append(f"{folder}: every groundtruth_rect*.txt is empty; no target")
        for sequence in found:
            if key_fits(sequence.id):
                result.sequences.append(sequence)
            else:
                result.passed_over.append(f"{folder}: name too long for a shard key")
    if not result.sequences:
        raise CurationError(f"{root}: no OTB sequence (<seq>/img/0001.jpg and <seq>/groundtruth_rect.txt)")
    result.sequences.sort(key=lambda s: s.id)
    return result


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the layout leaves alone by design: empty box files (no target), images outside a sequence's range."""
    if GT.fullmatch(path.name):
        return "empty groundtruth_rect file (no target, e.g. Human4's .1.txt)"
    if path.parent.name == IMAGES and path.parent.parent.name.lower() in FRAME_RANGES:
        return "images outside the benchmark's frame range (configSeqs)"
    return None


FORMAT = SourceFormat(name="otb", title="OTB-2015", splits=SPLITS, looks_like=looks_like, search=search,
                      outside=outside)
