"""The benchmark sources (OTB, UAV123/UAV20L, NfS, TC128, TNL2K) and your own sequences: layout recognition,
curation against the synthetic trees' truth, ``track_frames()`` and ``ground_truth()`` against the files themselves
(frame numbers, 1-based boxes, NaN rows, frame ranges), and damaged input reported with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import BadInput, CurationError
from siamfc.curate.schema import ABSENT, OUT_OF_VIEW
from siamfc.curate.sources import FORMATS, detect_format, nfs, otb, sequences, tc128, tnl2k, uav
from siamfc.curate.synth import generate_format

from source_checks import assert_crops_match_reference, assert_records_match, curate_quietly, skip_entries

BENCHMARKS = ("otb", "uav", "nfs", "tc128", "tnl2k")
LAYOUTS = (*BENCHMARKS, "sequences", "sequences1")


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, tuple[Path, list]]:
    """fmt -> (root, truth) of each layout's default synthetic tree, written once."""
    base = tmp_path_factory.mktemp("benchmarks")
    return {fmt: (base / fmt, generate_format(base / fmt, fmt)) for fmt in LAYOUTS}


@pytest.fixture(scope="module")
def curated(trees, tmp_path_factory) -> dict[str, Path]:
    """fmt -> a raw, full-resolution curation of its tree (records and crops comparable with the truth)."""
    out = tmp_path_factory.mktemp("benchmarks-curated")
    for fmt, (root, _) in trees.items():
        curate_quietly(root, out / fmt, fmt=fmt, encoding="raw", max_reduction=1, shards=1)
    return {fmt: out / fmt for fmt in trees}


def search(fmt: str, root: Path):
    return FORMATS[fmt].search(root, FORMATS[fmt].splits)


def by_id(fmt: str, root: Path) -> dict:
    return {s.id: s for s in search(fmt, root).sequences}


def numbers(line: str) -> list[float]:
    """The numbers of a box line, split by hand (commas, tabs or spaces): the tests' own reading of the files."""
    return [float(f) for f in line.replace(",", " ").replace("\t", " ").split()]


def file_lines(path: Path) -> list[str]:
    return [line for line in path.read_bytes().decode().replace("\r\n", "\n").split("\n") if line.strip()]


def damage_copy(trees, fmt: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trees[fmt][0], tmp_path / fmt))


def set_line(path: Path, number: int, text: str) -> None:
    lines = path.read_bytes().decode().split("\n")
    lines[number - 1] = text
    path.write_bytes("\n".join(lines).encode())


# -- recognition --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", BENCHMARKS)
def test_each_benchmark_is_recognised_by_its_own_format_only(trees, fmt):
    root, _ = trees[fmt]
    assert [name for name, f in FORMATS.items() if f.looks_like(root)] == [fmt]
    assert detect_format(root) == fmt


def test_own_sequences_are_never_recognised_without_format(trees):
    root, _ = trees["sequences"]
    assert not any(f.looks_like(root) for f in FORMATS.values())
    with pytest.raises(CurationError, match="not a dataset layout siamfc knows"):
        detect_format(root)


# -- curation against the truth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_records_and_hidden_frames_match_the_tree(trees, curated, fmt):
    _, truth = trees[fmt]
    m = assert_records_match(curated[fmt], truth)
    assert skip_entries(curated[fmt]) == []
    assert m.complete and m.source == fmt
    assert assert_crops_match_reference(curated[fmt], truth, every=4) >= 2


def test_the_trees_hold_the_quirks_the_tests_rely_on(trees):
    flags = {fmt: {t.flags for t in truth if not t.visible} for fmt, (_, truth) in trees.items()}
    assert flags["uav"] == {OUT_OF_VIEW} and flags["nfs"] == {OUT_OF_VIEW} and flags["tnl2k"] == {ABSENT}
    assert flags["sequences"] == flags["sequences1"] == {ABSENT} and not flags["otb"] and not flags["tc128"]
    assert any(t.occluded for t in trees["nfs"][1])  # NfS's occluded column is kept
    assert {t.cls for t in trees["nfs"][1]} != {""}  # and its label is the class


# -- track_frames / ground_truth, read from the files by the tests themselves ---------------------------------------


def check_against_files(sequence, frames: list[Path], box_lines: list[str], one_based: bool,
                        hidden: set[int]) -> None:
    """``track_frames()`` is ``frames``; ``ground_truth()`` row ``k`` is ``box_lines[k]`` shifted to 0-based, NaN for
    the rows in ``hidden``."""
    assert sequence.track_frames() == frames
    gt = sequence.ground_truth()
    assert gt.shape == (len(frames), 4) and gt.dtype == np.float64
    for k, line in enumerate(box_lines):
        if k in hidden:
            assert np.isnan(gt[k]).all(), (k, gt[k])
        else:
            x, y, w, h = numbers(line)[:4]
            assert np.allclose(gt[k], (x - one_based, y - one_based, w, h)), (k, gt[k], line)


def test_otb_frames_ranges_targets_and_one_based_boxes(trees):
    root, _ = trees["otb"]
    found = by_id("otb", root)
    assert sorted(found) == ["test/Basketball", "test/Football1", "test/Human4", "test/Jogging.1", "test/Jogging.2"]
    for name, box_file in (("Basketball", "groundtruth_rect.txt"), ("Human4", "groundtruth_rect.2.txt"),
                           ("Jogging.1", "groundtruth_rect.1.txt"), ("Jogging.2", "groundtruth_rect.2.txt")):
        folder = root / name.split(".")[0]
        lines = file_lines(folder / box_file)
        check_against_files(found[f"test/{name}"], [folder / "img" / f"{i:04d}.jpg" for i in range(1, 11)],
                            lines, True, set())
    # Football1: 74 annotated images of 76 (configSeqs); the two past the range are outside the layout
    football = root / "Football1"
    assert len(list((football / "img").iterdir())) == 76
    check_against_files(found["test/Football1"], [football / "img" / f"{i:04d}.jpg" for i in range(1, 75)],
                        file_lines(football / "groundtruth_rect.txt"), True, set())
    assert otb.outside(root, football / "img" / "0076.jpg", ("test",)).startswith("images outside")
    assert otb.outside(root, root / "Human4" / "groundtruth_rect.1.txt", ("test",)).startswith("empty")
    # the subsets are the got10k toolkit's lists
    assert len(otb.OTB2013) == 50 and len(otb.OTB50) == 49 and len(otb.OTB100) == 98
    assert otb.subset(otb.OTB2013, "Jogging.2") and not otb.subset(otb.OTB2013, "Human4")
    assert otb.subset(otb.OTB50, "Skating2.1") and otb.subset(otb.OTB100, "BlurCar1")


def test_otb_range_that_starts_past_image_one(tmp_path):
    """David's box file starts at image 300 (configSeqs): line 1 is 0300.jpg, not the first file listed."""
    david = tmp_path / "OTB" / "David"
    (david / "img").mkdir(parents=True)
    for i in (1, 299, 300, 301, 770):
        (david / "img" / f"{i:04d}.jpg").write_bytes(b"")
    (david / "groundtruth_rect.txt").write_text("".join(f"{10 + i},20,30,40\n" for i in range(471)))
    (sequence,) = otb.search(tmp_path / "OTB").sequences
    frames = sequence.track_frames()
    assert len(frames) == 471 and frames[0].name == "0300.jpg" and frames[-1].name == "0770.jpg"
    assert frames[1] == david / "img" / "0301.jpg" and frames[2] == david / "img" / "0302.jpg"  # missing: named
    assert tuple(sequence.ground_truth()[0]) == (9, 19, 30, 40)
    (david / "groundtruth_rect.txt").write_text("".join("10,20,30,40\n" for _ in range(470)))
    with pytest.raises(BadInput, match=r"470 lines for the 471 frames 300\.\.770"):
        otb.search(tmp_path / "OTB").sequences[0].ground_truth()


def test_uav_sub_sequences_share_a_folder_and_out_of_view_frames_are_nan(trees):
    root, _ = trees["uav"]
    found = by_id("uav", root)
    assert sorted(found) == ["test/UAV123/synthcar1", "test/UAV123/synthperson1_1", "test/UAV123/synthperson1_2",
                             "test/UAV20L/synthperson1"]
    folder = root / "data_seq" / "UAV123" / "synthperson1"
    first, second = (file_lines(root / "anno" / "UAV123" / f"synthperson1_{k}.txt") for k in (1, 2))
    assert len(first) + len(second) == 13  # 12 frames, the boundary frame in both
    for name, lines, start in (("UAV123/synthperson1_1", first, 1), ("UAV123/synthperson1_2", second, len(first)),
                               ("UAV20L/synthperson1", file_lines(root / "anno" / "UAV20L" / "synthperson1.txt"), 1)):
        hidden = {k for k, line in enumerate(lines) if "NaN" in line}
        check_against_files(found[f"test/{name}"], [folder / f"{start + k:06d}.jpg" for k in range(len(lines))],
                            lines, True, hidden)
    assert any("NaN" in line for line in second)
    assert uav.outside(root, root / "anno" / "UAV123" / "att" / "synthcar1.txt", ("test",)).startswith("attribute")


def test_uav_ranges_come_from_the_benchmarks_table(tmp_path):
    """bird1_2 is frames 775-1477 of data_seq/UAV123/bird1 (configSeqs), whatever files the folder holds."""
    root = tmp_path / "UAV123"
    (root / "data_seq" / "UAV123" / "bird1").mkdir(parents=True)
    (root / "data_seq" / "UAV123" / "bird1" / "001477.jpg").write_bytes(b"")
    (root / "anno" / "UAV123").mkdir(parents=True)
    (root / "anno" / "UAV123" / "bird1_2.txt").write_text("5,6,7,8\n" * 702 + "NaN,NaN,NaN,NaN\n")
    (sequence,) = uav.search(root).sequences
    frames = sequence.track_frames()
    assert len(frames) == 703 and frames[0].name == "000775.jpg" and frames[-1].name == "001477.jpg"
    gt = sequence.ground_truth()
    assert tuple(gt[0]) == (4, 5, 7, 8) and np.isnan(gt[-1]).all()
    assert uav.SUB_SEQUENCES["uav1_3"] == ("uav1", 2473, 3469) and len(uav.SUB_SEQUENCES) == 51


def test_nfs_30_fps_takes_every_8th_line_and_trims_one(trees):
    root, truth = trees["nfs"]
    found = by_id("nfs", root)
    for name in ("synth_cross", "synth_leave"):
        lines = file_lines(root / name / "240" / f"{name}.txt")
        fast = found[f"test/240/{name}"].ground_truth()
        slow = found[f"test/30/{name}"]
        frames = sorted((root / name / "30" / name).iterdir())
        assert slow.track_frames() == frames and len(frames) == 3
        assert (len(lines) + 7) // 8 == (3 if name == "synth_cross" else 4)  # synth_leave: one line trimmed
        for k in range(3):  # 30 fps frame k + 1 is 240 fps line 8k + 1
            assert np.array_equal(slow.ground_truth()[k], fast[8 * k], equal_nan=True)
        for k, line in enumerate(lines):  # the corners, 0-based, w = xmax - xmin
            f = line.split()
            if f[6] == "1":
                assert np.isnan(fast[k]).all()
            else:
                x1, y1, x2, y2 = map(float, f[1:5])
                assert tuple(fast[k]) == (x1, y1, x2 - x1, y2 - y1)
    assert any(line.split()[6] == "1" for line in file_lines(root / "synth_leave" / "240" / "synth_leave.txt"))


def test_tc128_range_file_and_box_file_named_unlike_the_folder(trees):
    root, _ = trees["tc128"]
    found = by_id("tc128", root)
    folder = root / "Yo_yos_ce1"
    assert (folder / "Yo-yos_ce1_frames.txt").read_text().strip() == "3,12"
    check_against_files(found["test/Yo_yos_ce1"], [folder / "img" / f"{i:04d}.jpg" for i in range(3, 13)],
                        file_lines(folder / "Yo-yos_ce1_gt.txt"), True, set())
    assert tc128.outside(root, folder / "img" / "0001.jpg", ("test",)).startswith("images outside")
    assert tc128.read_range(folder / "Yo-yos_ce1_frames.txt") == (3, 12)


def test_tnl2k_zero_boxes_are_nan_and_frames_go_by_number(trees, tmp_path):
    root, _ = trees["tnl2k"]
    found = by_id("tnl2k", root)
    assert sorted(found) == ["test/Bird_video_01-Done", "test/Plane_video_02", "train/CM_redcar_done"]
    video = root / "TNL2K_test_subset" / "Bird_video_01-Done"
    lines = file_lines(video / "groundtruth.txt")
    hidden = {k for k, line in enumerate(lines) if line == "0,0,0,0"}
    assert hidden
    check_against_files(found["test/Bird_video_01-Done"], [video / "imgs" / f"{i:05d}.jpg" for i in range(1, 11)],
                        lines, True, hidden)
    assert tnl2k.outside(root, video / "language.txt", ("test",)).startswith("language")
    # a PNG frame is a frame; a video numbered from 0 pairs line 1 with frame 0; 10.png is not the 2nd file
    odd = tmp_path / "TNL2K_test_subset" / "odd"
    (odd / "imgs").mkdir(parents=True)
    for i in range(11):
        (odd / "imgs" / (f"{i}.png" if i == 10 else f"{i:05d}.jpg")).write_bytes(b"")
    (odd / "groundtruth.txt").write_text("".join(f"{i + 1},1,5,5\n" for i in range(11)))
    (sequence,) = tnl2k.search(tmp_path).sequences
    assert sequence.track_frames()[-1] == odd / "imgs" / "10.png"
    assert sequence.track_frames()[0] == odd / "imgs" / "00000.jpg"
    assert list(sequence.ground_truth()[:, 0]) == list(range(11))


@pytest.mark.parametrize("fmt", ["sequences", "sequences1"])
def test_own_sequences_follow_the_format_named(trees, fmt):
    root, _ = trees[fmt]
    found = by_id(fmt, root)
    assert sorted(found) == ["all/car2", "all/walk1"]
    for name, frames_dir, box_file in (("walk1", root / "walk1", "groundtruth.txt"),
                                       ("car2", root / "car2" / "img", "car2.txt")):
        lines = file_lines(root / name / box_file)
        check_against_files(found[f"all/{name}"], [frames_dir / f"{i:04d}.jpg" for i in range(1, 11)], lines,
                            fmt == "sequences1", {k for k, line in enumerate(lines) if "NaN" in line})
    # the other convention reads the same file 1 pixel off
    other = "sequences1" if fmt == "sequences" else "sequences"
    shift = by_id(other, root)["all/walk1"].ground_truth() - found["all/walk1"].ground_truth()
    assert np.allclose(shift[:, :2], -1 if fmt == "sequences" else 1) and np.allclose(shift[:, 2:], 0)


def test_frames_are_matched_by_number_not_by_sorted_name(trees, tmp_path):
    root = damage_copy(trees, "sequences", tmp_path)
    frames = root / "walk1"
    (frames / "0010.jpg").rename(frames / "10.jpg")  # sorts before 0001.jpg
    (frames / "0002.jpg").rename(frames / "2.JPEG")
    sequence = by_id("sequences", root)["all/walk1"]
    listed = sequence.track_frames()
    assert listed[1] == frames / "2.JPEG" and listed[9] == frames / "10.jpg" and listed[0] == frames / "0001.jpg"
    assert sorted(p.name for p in frames.glob("*.*pg")) != [p.name for p in listed]


def test_default_track_frames_and_ground_truth_come_from_read(trees):
    """The base defaults (for every other source): read()'s frames and the box of each, xyxy back to xywh."""
    from siamfc.curate.sources.base import Sequence

    sequence = by_id("sequences", trees["sequences"][0])["all/car2"]
    frames = Sequence.track_frames(sequence)
    assert frames == [f.path for f in sequence.read().frames]
    gt = Sequence.ground_truth(sequence)
    assert np.array_equal(gt, sequence.ground_truth(), equal_nan=True)


# -- damaged input ------------------------------------------------------------------------------------------------


def first_sequence_files(fmt: str, root: Path):
    """(sequence, its box file, its frame files in order) of the first sequence of a tree."""
    sequence = search(fmt, root).sequences[0]
    return sequence, sequence.box_file, sequence.track_frames()


@pytest.mark.parametrize("fmt", LAYOUTS)
def test_malformed_line_stray_file_and_missing_frame_are_named(trees, tmp_path, fmt):
    root = damage_copy(trees, fmt, tmp_path)
    sequence, box_file, frames = first_sequence_files(fmt, root)
    number = sequence.line_number(1)  # the box line of the sequence's second frame
    set_line(box_file, number, "1 x 2 3 4 5 6 7 8 9" if fmt == "nfs" else "12,abc,7,8")
    stray = frames[0].parent / "notes.txt"
    stray.write_text("not a frame\n")
    visible = [k for k, row in enumerate(sequence.ground_truth()) if k > 2 and not np.isnan(row).any()]
    missing = frames[visible[0]]  # a frame curation decodes
    missing.unlink()
    sequence = search(fmt, root).sequences[0]
    assert sequence.track_frames() == frames  # the missing frame is still listed, under its name
    with pytest.raises(BadInput, match=rf"{box_file}, line {number}:") as err:
        sequence.ground_truth()
    assert err.value.reason == "box_malformed"
    result = sequence.read()
    reasons = {(bad.reason, frame): bad.detail for frame, _, bad in result.skipped}
    index = sequence.first + ([sequence.line_number(k) for k in range(len(frames))].index(number))
    assert reasons[("box_malformed", index)].startswith(f"{box_file}, line {number}: ")
    assert reasons[("not_a_frame", None)].startswith(f"{stray}: ")
    out = tmp_path / "out"
    curate_quietly(root, out, fmt=fmt, shards=1)
    report = {(e["snippet"], e["reason"]): e for e in skip_entries(out)}
    assert report[(sequence.id, "frame_missing")]["detail"].startswith(str(missing))
    assert report[(sequence.id, "box_malformed")]["detail"].startswith(f"{box_file}, line {number}: ")
    assert report[(sequence.id, "not_a_frame")]["detail"].startswith(str(stray))


@pytest.mark.parametrize("fmt", ["otb", "tnl2k", "sequences"])
def test_box_lines_and_frames_that_disagree_are_one_report(trees, tmp_path, fmt):
    root = damage_copy(trees, fmt, tmp_path)
    sequence, box_file, frames = first_sequence_files(fmt, root)
    box_file.write_bytes(box_file.read_bytes() + b"5,5,9,9\n5,5,9,9\n\n\r\n")  # two lines past the last frame
    sequence = search(fmt, root).sequences[0]
    with pytest.raises(BadInput, match=rf"{box_file}, line {len(frames) + 1}: 12 boxes"):
        sequence.ground_truth()
    bad = [b for _, _, b in sequence.read().skipped]
    assert [b.reason for b in bad] == ["gt_line_count"]
    assert len(sequence.read().frames) == len(frames)  # the frames that have a file are all there


def test_an_unreadable_box_file_skips_the_sequence_with_one_entry(trees, tmp_path):
    root = damage_copy(trees, "tc128", tmp_path)
    sequence, box_file, _ = first_sequence_files("tc128", root)
    box_file.write_bytes(b"\xff\xfe\x00binary")
    result = search("tc128", root).sequences[0].read()
    assert result.frames == [] and [(b.reason, str(box_file) in b.detail) for _, _, b in result.skipped] == [
        ("label_malformed", True)]


def test_a_known_rectangle_lands_in_the_crop_centre_one_based(tmp_path):
    """A white 20x16 rectangle on columns 50..69, rows 30..45 (0-based) is ``51,31,20,16`` in OTB's 1-based
    numbers: its crop must be centred on the rectangle (read 0-based it would sit 1 px off)."""
    from siamfc.curate.shards import ShardReader

    seq = tmp_path / "OTB" / "Box"
    (seq / "img").mkdir(parents=True)
    image = np.zeros((120, 200, 3), np.uint8)
    image[30:46, 50:70] = 255
    cv2.imwrite(str(seq / "img" / "0001.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (seq / "groundtruth_rect.txt").write_text("51\t31\t20\t16\n")
    out = tmp_path / "cur"
    curate_quietly(tmp_path / "OTB", out, encoding="raw", max_reduction=1, shards=1)
    reader = ShardReader(out)
    _, x = reader.crops(b"test/Box/0000/000001")
    reader.close()
    ys, xs = np.nonzero(x.mean(axis=2) > 128)
    assert abs(xs.mean() - 127) < 0.5 and abs(ys.mean() - 127) < 0.5, (xs.mean(), ys.mean())
    (sequence,) = otb.search(tmp_path / "OTB").sequences
    assert tuple(sequence.ground_truth()[0]) == (50, 30, 20, 16)


def test_generators_refuse_an_existing_tree(trees):
    for fmt in LAYOUTS:
        with pytest.raises(FileExistsError):
            generate_format(trees[fmt][0], fmt)


def test_a_lasot_ext_root_without_testing_set_is_read_whole(tmp_path):
    """LaSOT-ext has LaSOT's layout and no testing_set.txt: every video is read (split "train" for curation, "all"
    for the benchmark), with the base defaults of track_frames/ground_truth giving NaN on hidden frames."""
    from siamfc.curate.sources import lasot

    root = tmp_path / "LaSOT_ext"
    truth = generate_format(root, "lasot")
    (root / "testing_set.txt").unlink()
    split, found = lasot.benchmark_sequences(root)
    assert split == "all" and len(found.sequences) == len({t.snippet for t in truth})
    for sequence in found.sequences:
        name = sequence.id.split("/", 1)[1]
        rows = {t.frame: t for t in truth if t.snippet.split("/", 1)[1] == name}
        assert [p.name for p in sequence.track_frames()] == [f"{i:08d}.jpg" for i in sorted(rows)]
        for k, row in enumerate(sequence.ground_truth()):
            t = rows[k + 1]
            xmin, ymin, xmax, ymax = t.box
            expected = (xmin, ymin, xmax - xmin + 1, ymax - ymin + 1) if t.visible else (np.nan,) * 4
            assert np.allclose(row, expected, equal_nan=True), (sequence.id, k)


def test_nfs_label_and_sequences_module_constants():
    assert sequences.ONE_BASED == {"sequences": False, "sequences1": True}
    assert nfs.SUBSAMPLE == 8 and tnl2k.ONE_BASED and uav.ONE_BASED and tc128.ONE_BASED and not nfs.ONE_BASED
