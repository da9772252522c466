"""LaSOT source: layout, records, crops, bad input, resume and the 1-based box convention, on trees written here."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.manifest import load_manifest
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import FULL_OCCLUSION, OUT_OF_VIEW, CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.sources import FORMATS, detect_format, lasot
from siamfc.curate.synth.lasot import generate

from source_checks import (
    assert_records_match,
    curate_quietly,
    record_table,
    skip_entries,
)


@pytest.fixture(scope="session")
def lasot_curated(lasot_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("lasot-cur") / "jpeg"
    curate_quietly(lasot_tree[0], out, shards=2)
    return out


def folder(root: Path, snippet: str) -> Path:
    """The video folder of a snippet id ``<split>/<class>/<name>``."""
    _, cls, name = snippet.split("/")
    return root / cls / name


def test_layout_is_recognised_and_only_as_lasot(lasot_tree, tmp_path):
    root, _ = lasot_tree
    assert detect_format(root) == "lasot"
    assert [f.name for f in FORMATS.values() if f.looks_like(root)] == ["lasot"]
    # layouts of other datasets are not LaSOT: OTB (img/ + groundtruth_rect.txt), GOT-10k (frames beside
    # groundtruth.txt, no img/), ImageNet VID
    (tmp_path / "otb" / "Basketball" / "img").mkdir(parents=True)
    (tmp_path / "otb" / "Basketball" / "groundtruth_rect.txt").write_text("1,1,5,5\n")
    got = tmp_path / "got" / "train" / "GOT-10k_Train_000001"
    got.mkdir(parents=True)
    (got / "groundtruth.txt").write_text("1,1,5,5\n")
    (got / "00000001.jpg").write_bytes(b"")
    (tmp_path / "vid" / "Annotations" / "VID" / "train").mkdir(parents=True)
    for other in ("otb", "otb/Basketball", "got", "got/train", "vid"):
        assert not lasot.looks_like(tmp_path / other), other


def test_flat_and_single_video_roots_give_the_same_ids(lasot_tree, tmp_path):
    root, _ = lasot_tree
    flat = tmp_path / "flat"
    for snippet in ("test/cat/cat-1", "train/bear/bear-1"):
        shutil.copytree(folder(root, snippet), flat / snippet.rsplit("/", 1)[1])
    shutil.copy(root / "testing_set.txt", flat)
    assert detect_format(flat) == "lasot"
    assert [s.id for s in lasot.search(flat).sequences] == ["test/cat/cat-1", "train/bear/bear-1"]
    single = lasot.search(flat / "bear-1")  # a root that is one video folder
    assert [(s.id, s.cls) for s in single.sequences] == [("train/bear/bear-1", "bear")]


def test_splits_follow_testing_set_txt(lasot_tree, tmp_path):
    root, _ = lasot_tree
    ids = [s.id for s in lasot.search(root).sequences]
    assert ids == ["test/airplane/airplane-2", "test/cat/cat-1", "train/airplane/airplane-1", "train/bear/bear-1",
                   "train/rubicCube/rubicCube-1"]
    assert [s.id for s in lasot.search(root, ("test",)).sequences] == ids[:2]
    # without testing_set.txt every video is train
    plain = tmp_path / "plain"
    shutil.copytree(root / "cat", plain / "cat")
    assert [s.id for s in lasot.search(plain).sequences] == ["train/cat/cat-1"]
    # a root of test videos only, asked for train: one error saying where the videos are
    only_test = tmp_path / "only-test"
    shutil.copytree(root / "cat", only_test / "cat")
    shutil.copy(root / "testing_set.txt", only_test)
    with pytest.raises(CurationError, match=r"no LaSOT video for split\(s\) \['train'\]; it has 1 test"):
        lasot.search(only_test, ("train",))
    assert lasot.benchmark_sequences(root)[0] == "test" and lasot.benchmark_sequences(plain)[0] == "all"


def test_a_video_reached_twice_through_a_link_is_passed_over(lasot_tree, tmp_path):
    root, _ = lasot_tree
    linked = tmp_path / "linked"
    (linked / "bear").mkdir(parents=True)
    (linked / "bear" / "bear-1").symlink_to(folder(root, "train/bear/bear-1"), target_is_directory=True)
    (linked / "bear" / "bear-2").symlink_to(folder(root, "train/bear/bear-1"), target_is_directory=True)
    found = lasot.search(linked)
    assert [s.id for s in found.sequences] == ["train/bear/bear-1"]
    assert len(found.passed_over) == 1 and "bear-2: reaches a folder found by another path" in found.passed_over[0]


def test_records_and_hidden_frames_match_the_tree(lasot_tree, lasot_curated):
    _, truth = lasot_tree
    flags = {t.flags for t in truth if not t.visible}
    assert flags == {FULL_OCCLUSION, OUT_OF_VIEW, FULL_OCCLUSION | OUT_OF_VIEW}  # the tree has every kind
    m = assert_records_match(lasot_curated, truth)
    assert set(m.classes) == {"airplane", "bear", "cat", "rubicCube"}
    assert skip_entries(lasot_curated) == []
    assert (1920, 1080) in {(t.width, t.height) for t in truth}


# Records and crops against the truth, a missing frame file and a lost label file (full_occlusion.txt): the common
# checks of every format, in test_source_contract.py (on conftest's session tree ``lasot_tree``).


def test_resume_in_two_runs_equals_one_run(lasot_tree, lasot_curated, tmp_path):
    root, _ = lasot_tree
    steps = tmp_path / "steps"
    first = curate(CurationConfig(source=root, out=steps, max_snippets=2, progress=False,
                                  settings=CurationSettings(shards=2)))
    assert first.snippets_curated == 2
    second = curate(CurationConfig(source=root, out=steps, progress=False, settings=CurationSettings(shards=2)))
    assert second.snippets_already_done == 2 and second.snippets_curated == 3
    one, two = load_manifest(lasot_curated), load_manifest(steps)
    assert list(one.snippets) == list(two.snippets) and np.array_equal(one.records, two.records)
    assert np.array_equal(one.hidden, two.hidden) and two.complete


def _set_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().split("\n")
    lines[number - 1] = text
    path.write_text("\n".join(lines))


def _drop_flag_value(path: Path, position: int | None = None, value: str | None = None) -> None:
    values = path.read_text().split(",")
    if value is None:
        values.pop()
    else:
        values[position] = value
    path.write_text(",".join(values))


@pytest.fixture(scope="module")
def damaged(lasot_tree, tmp_path_factory):
    """Two copies of the tree with one or more kinds of damage per video; returns [(root, out, lost, expected)]:
    ``lost`` the (snippet, frame) pairs that must be gone (records and hidden entries), ``expected`` the skip report
    as (snippet, frame, reason, file, line or None)."""
    source, truth = lasot_tree
    ids = sorted({t.snippet for t in truth})
    air2, cat1, air1, bear1, rubic1 = ids
    frames = {s: sorted(t.frame for t in truth if t.snippet == s) for s in ids}
    assert all(len(f) == 12 for f in frames.values())
    copies = []
    for copy in (1, 2):
        root = tmp_path_factory.mktemp(f"lasot-damaged-{copy}") / "LaSOT"
        shutil.copytree(source, root)
        lost, expected = set(), []

        def f(snippet, name):
            return folder(root, snippet) / name  # noqa: B023 - used while root is this copy's

        if copy == 1:
            gt = f(air1, "groundtruth.txt")
            _set_line(gt, 2, "NaN,NaN,NaN,NaN")
            _set_line(gt, 4, "")
            _set_line(gt, 6, "5,5,0,10")
            _set_line(gt, 9, "5000,5000,10,10")
            lost |= {(air1, 2), (air1, 4), (air1, 6), (air1, 9)}
            expected += [(air1, 2, "box_malformed", gt, 2), (air1, 4, "box_malformed", gt, 4),
                         (air1, 6, "box_empty", gt, 6), (air1, 9, "box_outside_frame", f(air1, "img"), None)]
            gt = f(bear1, "groundtruth.txt")
            gt.write_text("".join(gt.read_text().splitlines(keepends=True)[:-1]))  # frame 12 has no line
            lost.add((bear1, 12))
            expected.append((bear1, None, "gt_line_count", gt, None))
            # rubicCube-1 and cat-1 undamaged here: a lost label file and a missing frame are test_source_contract.py's
            gt = f(air2, "groundtruth.txt")
            gt.write_text(gt.read_text() + "1,1,5,5\n1,1,5,5\n")  # two lines past the last frame: reported once
            _set_line(gt, 6, "1,1,-1,-1")  # a hidden frame's placeholder box: neither used nor reported
            expected.append((air2, None, "gt_line_count", gt, 13))
        else:
            _drop_flag_value(f(air1, "out_of_view.txt"), 2, "2")
            lost |= {(air1, i) for i in frames[air1]}
            expected.append((air1, None, "label_malformed", f(air1, "out_of_view.txt"), 1))
            _drop_flag_value(f(bear1, "full_occlusion.txt"))
            lost.add((bear1, 12))
            expected.append((bear1, None, "label_malformed", f(bear1, "full_occlusion.txt"), None))
            _set_line(f(rubic1, "groundtruth.txt"), 10, "a,b,c,d")
            lost.add((rubic1, 10))
            expected.append((rubic1, 10, "box_malformed", f(rubic1, "groundtruth.txt"), 10))
            f(cat1, "out_of_view.txt").unlink()
            lost |= {(cat1, i) for i in frames[cat1]}
            expected.append((cat1, None, "label_missing", f(cat1, "out_of_view.txt"), None))
            _set_line(f(air2, "groundtruth.txt"), 3, "10,20,-5,8")
            f(air2, "img/00000012.jpg").unlink()  # the last image gone: its line is a surplus line
            lost |= {(air2, 3), (air2, 12)}
            expected += [(air2, 3, "box_empty", f(air2, "groundtruth.txt"), 3),
                         (air2, None, "gt_line_count", f(air2, "groundtruth.txt"), 12)]
        out = tmp_path_factory.mktemp(f"lasot-damaged-out-{copy}") / "cur"
        curate_quietly(root, out, shards=2)
        copies.append((root, out, lost, expected))
    return copies


def test_bad_input_is_reported_with_file_line_and_reason(damaged):
    for _, out, _, expected in damaged:
        report = skip_entries(out)
        assert sorted((e["snippet"], e["frame"] or 0, e["reason"]) for e in report) == sorted(
            (s, fr or 0, reason) for s, fr, reason, _, _ in expected)
        for snippet, frame, reason, path, line in expected:
            (entry,) = [e for e in report if (e["snippet"], e["frame"], e["reason"]) == (snippet, frame, reason)]
            assert str(path) in entry["detail"], entry
            if line is not None:
                assert f", line {line}:" in entry["detail"], entry
            assert entry["track"] in ((0,) if frame is not None else (None,)), entry


def test_good_records_and_hidden_frames_survive_bad_neighbours(lasot_tree, damaged):
    _, truth = lasot_tree
    for _, out, lost, _ in damaged:
        m = load_manifest(out)
        assert m.complete
        assert set(record_table(m)) == {(t.snippet, 0, t.frame) for t in truth
                                        if t.visible and (t.snippet, t.frame) not in lost}
        hidden = {(str(m.snippets[h["snippet"]]), int(h["frame"]), int(h["flags"])) for h in m.hidden}
        assert hidden == {(t.snippet, t.frame, t.flags) for t in truth
                          if not t.visible and (t.snippet, t.frame) not in lost}


def test_boxes_are_one_based_a_known_rectangle_lands_in_the_crop_centre(tmp_path):
    """A white 20x16 rectangle on pixel columns 50..69 and rows 30..45 (0-based) is ``51,31,20,16`` in LaSOT's
    1-based numbers; its crop must be centred on the rectangle (read 0-based it would sit 1 px off, ~3 crop px)."""
    video = tmp_path / "LaSOT" / "box" / "box-1"
    (video / "img").mkdir(parents=True)
    image = np.zeros((120, 200, 3), np.uint8)
    image[30:46, 50:70] = 255
    cv2.imwrite(str(video / "img" / "00000001.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (video / "groundtruth.txt").write_text("51,31,20,16\n")
    (video / "full_occlusion.txt").write_text("0")
    (video / "out_of_view.txt").write_text("0")
    out = tmp_path / "cur"
    curate_quietly(tmp_path / "LaSOT", out, encoding="raw", max_reduction=1, shards=1)
    (row,) = load_manifest(out).records
    assert tuple(float(row[c]) for c in ("xmin", "ymin", "xmax", "ymax")) == (50, 30, 69, 45)
    reader = ShardReader(out)
    _, x = reader.crops(b"train/box/box-1/0000/000001")
    reader.close()
    ys, xs = np.nonzero(x.mean(axis=2) > 128)
    assert abs(xs.mean() - 127) < 0.5 and abs(ys.mean() - 127) < 0.5, (xs.mean(), ys.mean())


def test_generate_refuses_an_existing_tree(lasot_tree):
    with pytest.raises(FileExistsError):
        generate(lasot_tree[0])
