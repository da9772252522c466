"""TrackingNet (``--format trackingnet``): layout, frame numbering, box convention, bad input, resume."""

from __future__ import annotations

import math
import os
import pickle
import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.manifest import load_manifest
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.sources import FORMATS, detect_format
from siamfc.curate.sources.trackingnet import Video, search
from siamfc.curate.synth.trackingnet import generate

from source_checks import assert_records_match, curate_quietly, skip_entries


@pytest.fixture(scope="session")
def tn(trackingnet_tree) -> tuple[Path, list]:
    """(root, truth) of the default synthetic TrackingNet tree (conftest's, shared by the session)."""
    return trackingnet_tree


@pytest.fixture(scope="session")
def tn_jpeg(tn, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tn-cur") / "jpeg"
    curate_quietly(tn[0], out, shards=2)
    return out


def _anno_lines(path: Path) -> list[str]:
    """The lines of an annotation file, split on CRLF as the real files end them (independent of the source)."""
    text = path.read_bytes().decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text[:-2].split("\r\n")


def _train_videos(root: Path) -> list[tuple[str, Path, Path]]:
    """(snippet id, annotation file, frame folder) of every training video, from the tree itself."""
    return [(f"train/{chunk.name}/{anno.stem}", anno, chunk / "frames" / anno.stem)
            for chunk in sorted(root.glob("TRAIN_*")) for anno in sorted((chunk / "anno").glob("*.txt"))]


def _expected_skips(root: Path) -> Counter:
    """(snippet, frame, reason) of the untouched tree, computed from its files: a frame file missing for a line
    (a gap), or a box wholly outside its frame."""
    expected: Counter = Counter()
    for snippet, anno, frames in _train_videos(root):
        for i, line in enumerate(_anno_lines(anno)):
            path = frames / f"{i}.jpg"
            if not path.exists():
                expected[(snippet, i, "frame_missing")] += 1
                continue
            x, y, w, h = (float(v) for v in line.split(","))
            height, width = cv2.imread(str(path)).shape[:2]
            if x + w - 1 < 0 or y + h - 1 < 0 or x > width - 1 or y > height - 1:
                expected[(snippet, i, "box_outside_frame")] += 1
    return expected


def _key(entry: dict) -> tuple:
    return entry["snippet"], entry["frame"], entry["reason"]


def test_layout_is_recognised_and_not_mistaken_for_another(tn, tmp_path):
    root, _ = tn
    assert detect_format(root) == "trackingnet"
    assert [name for name, f in FORMATS.items() if f.looks_like(root)] == ["trackingnet"]
    assert [name for name, f in FORMATS.items() if f.looks_like(root / "TRAIN_1")] == ["trackingnet"]
    (tmp_path / "vid" / "Annotations" / "VID").mkdir(parents=True)
    (tmp_path / "other" / "TRAIN_x" / "anno").mkdir(parents=True)  # not a chunk name
    (tmp_path / "zips" / "TRAIN_0" / "zips").mkdir(parents=True)  # nothing extracted
    for folder in ("vid", "other", "zips"):
        assert not FORMATS["trackingnet"].looks_like(tmp_path / folder), folder


def test_the_default_tree_has_what_the_brief_asks(tn):
    root, truth = tn
    videos = _train_videos(root)
    sizes = {cv2.imread(str(frames / "0.jpg")).shape[1::-1] for _, _, frames in videos}
    assert (1920, 1080) in sizes and {v[0].split("/")[1] for v in videos} == {"TRAIN_0", "TRAIN_1"}
    assert max(len(_anno_lines(anno)) for _, anno, _ in videos) >= 11  # 10.jpg sorts before 2.jpg by name
    assert any(float(line.split(",")[0]) < 0 for _, anno, _ in videos for line in _anno_lines(anno))  # unclipped
    assert any(not float(v).is_integer() for _, anno, _ in videos for v in _anno_lines(anno)[1].split(","))
    assert not any(name.startswith("0") and name != "0.jpg" for _, _, f in videos for name in os.listdir(f))
    assert [len(_anno_lines(a)) for a in sorted((root / "TEST" / "anno").glob("*.txt"))] == [1]
    assert all(t.snippet.startswith(("train/TRAIN_0/", "train/TRAIN_1/")) for t in truth)
    assert sum(v for (_, _, reason), v in _expected_skips(root).items() if reason == "frame_missing") == 1
    with pytest.raises(FileExistsError):
        generate(root)


def test_records_match_the_truth_and_only_gaps_and_outside_boxes_are_skipped(tn, tn_jpeg):
    root, truth = tn
    m = assert_records_match(tn_jpeg, truth)
    assert list(m.classes) == [""] and len(m.hidden) == 0 and set(m.records["track"]) == {0}
    assert sorted(set(m.snippets.tolist())) == [s for s, _, _ in _train_videos(root)]  # TEST is not curated
    report = skip_entries(tn_jpeg)
    expected = _expected_skips(root)
    assert Counter(_key(e) for e in report) == expected and "box_outside_frame" in {k[2] for k in expected}
    gap = next(e for e in report if e["reason"] == "frame_missing")
    snippet, frame = gap["snippet"], gap["frame"]
    chunk, name = snippet.split("/")[1:]
    assert gap["detail"].startswith(str(root / chunk / "frames" / name / f"{frame}.jpg"))
    assert f"{root / chunk / 'anno' / name}.txt, line {frame + 1}" in gap["detail"]
    assert {t.frame for t in truth if t.snippet == snippet} > {frame - 1, frame + 1}  # the rest is curated


def test_frames_are_numbered_by_their_file_number(tn, tn_jpeg):
    root, _ = tn
    m = load_manifest(tn_jpeg)
    snippet, anno, frames = next(v for v in _train_videos(root) if len(_anno_lines(v[1])) >= 11
                                 and (v[2] / "10.jpg").exists())
    row = next(r for r in m.records if str(m.snippets[r["snippet"]]) == snippet and r["frame"] == 10)
    x, y, w, h = (float(v) for v in _anno_lines(anno)[10].split(","))  # line 11 is frame 10
    assert np.allclose([row["xmin"], row["ymin"], row["xmax"], row["ymax"]], [x, y, x + w - 1, y + h - 1],
                       atol=1e-3)


# Raw crops of every object against the reference (frame 10 is 10.jpg, not 2.jpg), a stray file beside the frames
# and a lost annotation file: the common checks of every format, in test_source_contract.py.


def test_box_convention_puts_the_crop_centre_on_the_rectangle(tmp_path):
    """x,y are the 0-based top-left pixel and w,h the size: a white rectangle on columns 50..89, rows 30..59
    written as 50,30,40,30 is stored as xyxy (50, 30, 89, 59) and the crops are centred on it."""
    root = tmp_path / "TrackingNet" / "TRAIN_3"
    (root / "frames" / "box_0").mkdir(parents=True)
    (root / "anno").mkdir()
    image = np.zeros((160, 200, 3), np.uint8)
    image[30:60, 50:90] = 255
    cv2.imwrite(str(root / "frames" / "box_0" / "0.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (root / "anno" / "box_0.txt").write_bytes(b"50.00,30.00,40.00,30.00\r\n")
    out = tmp_path / "out"
    curate_quietly(root.parent, out, encoding="raw", max_reduction=1, shards=1)
    m = load_manifest(out)
    assert len(m) == 1 and str(m.snippets[0]) == "train/TRAIN_3/box_0"
    assert tuple(float(m.records[0][c]) for c in ("xmin", "ymin", "xmax", "ymax")) == (50, 30, 89, 59)
    reader = ShardReader(out)
    z, x = reader.crops(b"train/TRAIN_3/box_0/0000/000000")
    reader.close()
    s_z = math.sqrt((40 + 35) * (30 + 35))  # context p = (w + h) / 4 on each side
    for crop, side in ((x, s_z * 255 / 127), (z, s_z)):
        rows, cols = np.nonzero(crop.mean(axis=2) > 127)
        centre = (crop.shape[0] - 1) / 2
        scale = crop.shape[0] / side  # crop pixels per frame pixel: a one-pixel shift would move it this much
        assert abs(cols.mean() - centre) < 0.25 * scale and abs(rows.mean() - centre) < 0.25 * scale
        assert abs(np.ptp(cols) + 1 - 40 * scale) < 2 and abs(np.ptp(rows) + 1 - 30 * scale) < 2


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode())


@pytest.fixture(scope="module")
def broken(tn, tmp_path_factory):
    """A copy of the tree with one kind of damage per video (several line damages in one); returns (root, records
    lost as (snippet, frame), expected skips as [(snippet, frame, reason, text the detail must hold)])."""
    source, truth = tn
    root = tmp_path_factory.mktemp("tn-broken") / "TrackingNet"
    shutil.copytree(source, root)
    videos = _train_videos(root)
    gap_video = next(v for v in videos if len(os.listdir(v[2])) < len(_anno_lines(v[1])))
    lines_video, short_video, long_video = [v for v in videos if v is not gap_video][:3]
    baseline = {k[:2]: k[2] for k in _expected_skips(root)}  # what the untouched tree reports
    lost, expected = set(), []

    def lose(snippet, frame):
        """The record of ``frame`` (None: every frame) of ``snippet`` is lost, and whatever it reported before."""
        for key in [k for k in baseline if k[0] == snippet and frame in (None, k[1])]:
            del baseline[key]
        lost.update((t.snippet, t.frame) for t in truth if t.snippet == snippet and frame in (None, t.frame))

    snippet, anno, frames = lines_video
    lines = _anno_lines(anno)
    for i, (bad, reason) in enumerate([("nan,1.00,2.00,3.00", "box_malformed"), ("", "box_malformed"),
                                       ("12.00,abc,3.00,4.00", "box_malformed"), ("1.00,2.00,3.00", "box_malformed"),
                                       ("10.00,10.00,0.00,20.00", "box_empty"),
                                       ("10.00,10.00,20.00,-5.00", "box_empty")], start=1):
        lines[i] = bad
        lose(snippet, i)
        expected.append((snippet, i, reason, f"{anno}, line {i + 1}: "))
    _write_lines(anno, lines)
    data = (frames / "8.jpg").read_bytes()
    (frames / "8.jpg").write_bytes(data[: len(data) // 2])
    lose(snippet, 8)
    expected.append((snippet, 8, "frame_corrupt", str(frames / "8.jpg")))
    shutil.copy(frames / "7.jpg", frames / "07.jpg")  # zero-padded: not how TrackingNet names frame 7
    expected.append((snippet, None, "not_a_frame", str(frames / "07.jpg")))

    snippet, anno, frames = short_video
    lines = _anno_lines(anno)
    _write_lines(anno, lines[:-2])  # the last two frame files have no line
    lose(snippet, len(lines) - 2)
    lose(snippet, len(lines) - 1)
    expected.append((snippet, None, "gt_line_count", f"{anno}, line {len(lines) - 1}: missing"))

    snippet, anno, frames = long_video
    lines = _anno_lines(anno)
    _write_lines(anno, [*lines, "1.00,2.00,30.00,40.00", "1.00,2.00,30.00,40.00", ""])  # lines after the last frame
    expected.append((snippet, None, "gt_line_count", f"{anno}, line {len(lines) + 1}: {len(lines) + 2} lines"))

    # gap_video keeps its annotation file: a lost one is test_source_contract.py's
    orphan = root / "TRAIN_0" / "anno" / "zzNoFrames_0.txt"
    _write_lines(orphan, ["1.00,2.00,30.00,40.00"] * 3)  # no frame folder
    expected.append(("train/TRAIN_0/zzNoFrames_0", None, "frame_missing",
                     f"{root / 'TRAIN_0' / 'frames' / 'zzNoFrames_0'}: no such folder"))
    expected += [(s, f, reason, "") for (s, f), reason in baseline.items()]
    return root, lost, expected


def test_bad_input_is_reported_with_file_line_and_reason_and_the_run_goes_on(tn, broken, tmp_path):
    root, lost, expected = broken
    out = tmp_path / "out"
    summary = curate_quietly(root, out, shards=2)
    report = skip_entries(out)
    assert Counter(_key(e) for e in report) == Counter(e[:3] for e in expected)
    for snippet, frame, reason, text in expected:
        details = [e["detail"] for e in report if _key(e) == (snippet, frame, reason)]
        assert any(text in d for d in details), (reason, text, details)
    assert all(str(root) in e["detail"] for e in report)
    m = load_manifest(out)
    got = {(str(m.snippets[r["snippet"]]), int(r["frame"])) for r in m.records}
    assert got == {(t.snippet, t.frame) for t in tn[1]} - lost and m.complete
    assert summary.records == len(got) and summary.skipped == len(report)


def test_resumed_curation_equals_one_run(tn, tn_jpeg, tmp_path):
    root, _ = tn
    out = tmp_path / "two-runs"
    first = curate(CurationConfig(source=root, out=out, progress=False, max_snippets=2,
                                  settings=CurationSettings(shards=2)))
    assert first.snippets_curated == 2
    curate_quietly(root, out, shards=2)

    def table(path):
        m = load_manifest(path)
        columns = ("xmin", "ymin", "xmax", "ymax", "width", "height", "crc", "nbytes", "shard")
        return {m.key(i): tuple(m.records[i][c].item() for c in columns) for i in range(len(m))}

    assert table(out) == table(tn_jpeg) and len(table(out)) == len(tn[1])
    assert sorted(map(_key, skip_entries(out))) == sorted(map(_key, skip_entries(tn_jpeg)))


def test_a_chunk_root_gives_the_same_ids_and_test_is_refused(tn, tmp_path):
    root, _ = tn
    whole = [s.id for s in search(root).sequences]
    assert [s.id for s in search(root / "TRAIN_1").sequences] == [i for i in whole if i.startswith("train/TRAIN_1/")]
    assert [s.id for s in search(root / "TRAIN_1" / "anno" / "..").sequences] == [
        i for i in whole if i.startswith("train/TRAIN_1/")]
    assert whole == sorted(whole) and len(whole) == 4
    with pytest.raises(CurationError, match="TEST has only the first frame's box"):
        search(root, ("test",))
    only_test = tmp_path / "only-test"
    shutil.copytree(root / "TEST", only_test / "TEST")
    assert FORMATS["trackingnet"].looks_like(only_test)
    with pytest.raises(CurationError, match="no TrackingNet video"):
        search(only_test)


def test_linked_chunks_are_found_once(tn, tmp_path):
    root, _ = tn
    linked = tmp_path / "linked"
    linked.mkdir()
    for chunk in ("TRAIN_0", "TRAIN_1"):
        (linked / chunk).symlink_to(root / chunk, target_is_directory=True)  # chunks spread over disks
    (linked / "TRAIN_7").symlink_to(root / "TRAIN_0", target_is_directory=True)
    found = search(linked)
    assert [s.id for s in found.sequences] == [s.id for s in search(root).sequences]
    assert len(found.passed_over) == 1 and "TRAIN_7" in found.passed_over[0]


def test_a_video_is_picklable_cheap_to_read_twice_and_lists_its_inputs(tn):
    root, _ = tn
    for video in search(root).sequences:
        assert isinstance(video, Video)
        copy = pickle.loads(pickle.dumps(video))
        first, second = copy.read(), copy.read()
        assert first.frames == second.frames
        assert [(f, t, b.reason, b.detail) for f, t, b in first.skipped] == [
            (f, t, b.reason, b.detail) for f, t, b in second.skipped]
        assert video.frame_count() == first.seen == len(_anno_lines(video.anno))
        inputs = video.input_files()
        assert inputs[0] == video.anno and set(inputs[1:]) == {video.frames_dir / f"{i}.jpg"
                                                                for i in range(first.seen)}


def test_a_video_without_annotation_file_travels_to_a_worker_after_its_inputs_were_listed(tn, tmp_path):
    root, _ = tn
    frames = tmp_path / "TRAIN_2" / "frames" / "noAnno_0"
    shutil.copytree(next(root.glob("TRAIN_0/frames/*")), frames)
    (video,) = search(tmp_path / "TRAIN_2").sequences
    assert video.input_files()[0] == video.anno  # fills the listing cache, as --refresh does before the workers
    read = pickle.loads(pickle.dumps(video)).read()
    assert read.frames == [] and read.seen == video.frame_count() == len(os.listdir(frames))
    assert [(f, t, b.reason) for f, t, b in read.skipped] == [(None, None, "label_missing")]
