"""GOT-10k source and synthetic writer: layout recognition, records and crops against the tree's truth, bad input,
resumption and the box convention, on real files, LMDB and JPEG decoding."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.manifest import load_manifest
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import ABSENT, NO_COVER, CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.sources import FORMATS, detect_format
from siamfc.curate.synth import SynthConfig, generate_format
from siamfc.curate.synth.got10k import cover_class
from siamfc.model.eval_sequences import find_sequences

from source_checks import (
    assert_records_match,
    curate_quietly,
    record_table,
    skip_entries,
)


@pytest.fixture(scope="session")
def got10k(got10k_tree):
    """(root, truth) of the default synthetic GOT-10k tree (conftest's, shared by the session)."""
    return got10k_tree


@pytest.fixture(scope="session")
def curated(got10k, tmp_path_factory):
    out = tmp_path_factory.mktemp("got10k-cur") / "jpeg"
    curate_quietly(got10k[0], out, shards=2)
    return out


def test_the_writer_writes_got10k_files(got10k):
    root, truth = got10k
    assert (root / "train" / "list.txt").read_text() == "GOT-10k_Train_000001\nGOT-10k_Train_000002\n" \
                                                        "GOT-10k_Train_000003\n"
    assert (root / "val" / "list.txt").read_text() == "GOT-10k_Val_000001\nGOT-10k_Val_000002\n"
    folder = root / "train" / "GOT-10k_Train_000002"
    assert sorted(p.name for p in folder.iterdir())[:2] == ["00000001.jpg", "00000002.jpg"]
    assert all(re.fullmatch(r"(-?\d+\.\d{4},){3}-?\d+\.\d{4}", line)
               for line in (folder / "groundtruth.txt").read_text().splitlines())
    meta = (folder / "meta_info.ini").read_text().splitlines()
    assert meta[0] == "[METAINFO]" and meta[5].startswith("object_class: ")  # pytracking reads line 6
    toolkit = dict(line.split(": ") for line in meta[1:])  # the got10k toolkit's own parse
    assert list(toolkit) == ["url", "begin", "end", "anno_fps", "object_class", "motion_class", "major_class",
                             "root_class", "motion_adverb", "resolution"]
    assert toolkit["resolution"] == "(1920, 1080)" and {(t.width, t.height) for t in truth} >= {(1920, 1080)}
    flags = Counter(t.flags for t in truth if not t.visible)
    assert flags[ABSENT | NO_COVER] > 0 and flags[NO_COVER] > 0  # out of the frame; in it but not drawn
    visible = [t for t in truth if t.visible]
    assert {t.cover for t in visible} > {8} and any(t.cut for t in visible) and len({t.cls for t in truth}) >= 3
    assert [cover_class(f) for f in (0, 0.15, 0.150001, 0.45, 0.9, 0.95, 1)] == [0, 1, 2, 3, 6, 7, 8]
    with pytest.raises(FileExistsError):
        generate_format(root, "got10k")
    # the package's evaluator reads the val split the writer made
    sequences, skipped = find_sequences(root / "val")
    assert len(sequences) == 2 and not skipped


def test_layout_is_recognised_and_no_other(got10k, tmp_path):
    root, _ = got10k
    assert detect_format(root) == "got10k"
    assert detect_format(root / "train") == "got10k"  # a split folder itself (pytracking's got10k_dir)
    for name, fmt in FORMATS.items():
        assert fmt.looks_like(root) == (name == "got10k"), name
    (tmp_path / "vid" / "Annotations" / "VID" / "train").mkdir(parents=True)
    (tmp_path / "vid" / "train" / "GOT-10k_Train_000001").mkdir(parents=True)  # no groundtruth.txt
    assert not FORMATS["got10k"].looks_like(tmp_path / "vid")
    assert not FORMATS["got10k"].looks_like(tmp_path / "nothing-here")


# Records and crops against the truth, a missing frame file and a lost label file (cover.label): the common
# checks of every format, in test_source_contract.py.


def test_split_folder_as_root_gives_the_same_ids(got10k, tmp_path):
    root, truth = got10k
    curate_quietly(root / "train", tmp_path / "train-only", shards=1)
    assert_records_match(tmp_path / "train-only", [t for t in truth if t.snippet.startswith("train/")])


def test_resume_equals_one_run(got10k, curated, tmp_path):
    out = tmp_path / "twice"
    config = CurationConfig(source=got10k[0], out=out, progress=False, max_snippets=2,
                            settings=CurationSettings(shards=2))
    assert curate(config).snippets_curated == 2
    second = curate(dataclasses.replace(config, max_snippets=None))
    assert (second.snippets_already_done, second.snippets_curated) == (2, 3)
    once, twice = load_manifest(curated), load_manifest(out)
    fields = [f for f in once.records.dtype.names if f != "snippet"]
    table_once, table_twice = record_table(once), record_table(twice)
    assert table_once.keys() == table_twice.keys()
    for key, row in table_once.items():
        assert tuple(row[f] for f in fields) == tuple(table_twice[key][f] for f in fields), key
    hidden = [{(str(m.snippets[h["snippet"]]), int(h["track"]), int(h["frame"]), int(h["flags"])) for h in m.hidden}
              for m in (once, twice)]
    assert hidden[0] == hidden[1]


def _rewrite_line(path: Path, number: int, text: str | None) -> None:
    """Line ``number`` (1-based) of ``path`` replaced by ``text`` (None: removed)."""
    lines = path.read_text().splitlines()
    lines[number - 1:number] = [] if text is None else [text]
    path.write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A tree of 14 sequences, 12 with one kind of damage each (the damage every format shares is
    test_source_contract.py's), a listed folder that is missing, an unlisted sequence folder and a test split;
    curated once. Returns (root, curation summary, out, truth as the curation must hold it, expected skip entries
    as (snippet, frame, reason, file, line or None))."""
    root = tmp_path_factory.mktemp("got10k-damaged") / "GOT-10k"
    truth = generate_format(root, "got10k", SynthConfig(train_snippets=12, val_snippets=2, frames=10,
                                                        sizes=((320, 240), (400, 300))))
    snippets = sorted({t.snippet for t in truth})
    visible = {s: [t.frame for t in truth if t.snippet == s and t.visible] for s in snippets}
    lost: set[tuple[str, int]] = set()  # (snippet, frame) whose truth the curation cannot have
    expected = []
    renamed: dict[str, str] = {}  # snippet -> class the curation stores

    def folder(i: int) -> Path:
        return root / snippets[i]

    def damage(i: int, file: str, reason: str, frames: list[int] | None, line: int | None = None,
               entry_frame: int | None = None) -> None:
        """Sequence i loses ``frames`` (None: all of them, with one entry); one expected entry naming ``file`` per
        lost frame, or one for ``entry_frame`` when no frame is lost."""
        s = snippets[i]
        lost.update((s, t.frame) for t in truth if t.snippet == s and (frames is None or t.frame in frames))
        if frames:
            expected.extend((s, f, reason, folder(i) / file, line) for f in frames)
        else:
            expected.append((s, entry_frame, reason, folder(i) / file, line))

    def mid(i: int) -> int:  # a visible frame in the middle of sequence i
        return visible[snippets[i]][len(visible[snippets[i]]) // 2]

    gt = "groundtruth.txt"
    _rewrite_line(folder(0) / gt, 10, None)  # the last two frames have no line
    _rewrite_line(folder(0) / gt, 9, None)
    damage(0, gt, "gt_line_count", [9, 10])
    # sequence 1 undamaged (a lost cover.label is test_source_contract.py's)
    v = mid(2)
    _rewrite_line(folder(2) / gt, v, "nan,nan,nan,nan")
    damage(2, gt, "box_malformed", [v], v)
    v = mid(3)
    _rewrite_line(folder(3) / gt, v, "")
    damage(3, gt, "box_malformed", [v], v)
    with (folder(4) / gt).open("a") as f:  # two lines more than frames: reported once, nothing lost
        f.write("1.0000,1.0000,20.0000,20.0000\n2.0000,2.0000,20.0000,20.0000\n")
    damage(4, gt, "gt_line_count", [])
    # sequence 5 undamaged (a missing frame file is test_source_contract.py's)
    v = mid(6)
    _rewrite_line(folder(6) / gt, v, "10.0000,10.0000,0.0000,30.0000")
    damage(6, gt, "box_empty", [v], v)
    v = mid(7)
    _rewrite_line(folder(7) / gt, v, "10.0000,10.0000,30.0000,-5.0000")
    damage(7, gt, "box_empty", [v], v)
    v = mid(8)
    _rewrite_line(folder(8) / "cover.label", v, "9")
    damage(8, "cover.label", "label_malformed", [v], v)
    v = mid(9)
    _rewrite_line(folder(9) / gt, v, "5000.0000,10.0000,30.0000,30.0000")
    damage(9, gt, "box_outside_frame", [v], v)
    meta = folder(10) / "meta_info.ini"
    meta.write_text(re.sub(r"resolution: .*", "resolution: (1280, 720)", meta.read_text()))
    for v in visible[snippets[10]]:  # each visible frame's JPEG disagrees with the resolution
        damage(10, f"{v:08d}.jpg", "size_mismatch", [v])
    (folder(11) / "meta_info.ini").unlink()  # class "", every record kept: a note, not a skip
    renamed[snippets[11]] = ""
    _rewrite_line(folder(12) / "absence.label", 10, None)  # the last frame has no absence value
    damage(12, "absence.label", "label_malformed", [10])
    shutil.copy(folder(13) / "00000001.jpg", folder(13) / "00000000.jpg")  # GOT-10k has no frame 0
    damage(13, "00000000.jpg", "not_a_frame", [], entry_frame=0)

    with (root / "train" / "list.txt").open("a") as f:
        f.write("GOT-10k_Train_000999\nGOT-10k_Train_000200\n")  # listed: no such folder; a link to another
    (root / "train" / "GOT-10k_Train_000200").symlink_to(folder(2), target_is_directory=True)
    shutil.copytree(folder(0), root / "train" / "GOT-10k_Train_000100")  # a sequence folder not listed
    test = root / "test" / "GOT-10k_Test_000001"  # the test split: never curated
    test.mkdir(parents=True)
    shutil.copy(folder(4) / "00000001.jpg", test / "00000001.jpg")
    (test / gt).write_text("10.0000,10.0000,30.0000,30.0000\n")
    (root / "test" / "list.txt").write_text("GOT-10k_Test_000001\n")

    out = tmp_path_factory.mktemp("got10k-damaged-out") / "cur"
    summary = curate_quietly(root, out, shards=2)
    kept = [dataclasses.replace(t, cls=renamed.get(t.snippet, t.cls)) for t in truth
            if (t.snippet, t.frame) not in lost]
    return root, summary, out, kept, expected


def test_a_missing_class_is_a_note_not_a_skip(damaged):
    root, summary, *_ = damaged
    meta = root / "train" / "GOT-10k_Train_000012" / "meta_info.ini"
    assert f"{meta}: no such file; the sequence's records have no class" in summary.notes
    assert "class_unknown" not in summary.skipped_by_reason


def test_bad_input_is_reported_with_file_line_and_reason(damaged):
    root, summary, out, _, expected = damaged
    report = skip_entries(out)
    got = Counter((e["snippet"], e["frame"], e["reason"]) for e in report)
    assert got == Counter((s, f, reason) for s, f, reason, _, _ in expected)
    where = {(s, f, reason): (file, line) for s, f, reason, file, line in expected}
    for e in report:
        file, line = where[(e["snippet"], e["frame"], e["reason"])]
        assert str(file) in e["detail"], e
        if line is not None:
            assert f"line {line}:" in e["detail"], e
    surplus = [e["detail"] for e in report if e["reason"] == "gt_line_count" and e["frame"] is None]
    assert len(surplus) == 1 and "12 lines for 10 frames; lines 11-12 have no frame" in surplus[0]
    assert all("1280x720" in e["detail"] for e in report if e["reason"] == "size_mismatch")
    assert summary.skipped == len(report)
    passed = "\n".join(summary.folders_passed_over)
    assert "GOT-10k_Train_000999: listed in" in passed and "GOT-10k_Train_000100: a sequence folder" in passed
    original = root / "train" / "GOT-10k_Train_000003"
    assert f"GOT-10k_Train_000200: reaches a folder found by another path ({original})" in passed
    assert len(summary.folders_passed_over) == 3


def test_only_the_damaged_frames_are_missing(damaged):
    _, _, out, kept, _ = damaged
    m = assert_records_match(out, kept)  # every other record (and hidden entry) is there, unchanged
    assert m.complete and not any(str(s).startswith("test/") for s in m.snippets)
    assert not {"GOT-10k_Train_000100", "GOT-10k_Train_000200"} & {str(s).split("/")[1] for s in m.snippets}


def test_test_split_alone_is_not_curatable(tmp_path):
    seq = tmp_path / "GOT-10k" / "test" / "GOT-10k_Test_000001"
    seq.mkdir(parents=True)
    cv2.imwrite(str(seq / "00000001.jpg"), np.zeros((48, 64, 3), np.uint8))
    (seq / "groundtruth.txt").write_text("10.0000,10.0000,20.0000,20.0000\n")
    assert detect_format(tmp_path / "GOT-10k") == "got10k"
    with pytest.raises(CurationError, match="test split annotates only the first frame"):
        curate_quietly(tmp_path / "GOT-10k", tmp_path / "out")


def test_box_convention_puts_the_crop_centre_on_the_target(tmp_path):
    """A white 40x32 rectangle at columns 64..103, rows 48..79 (x, y, w, h = 64, 48, 40, 32; 0-based, xyxy
    64, 48, 103, 79) on black: its centre (83.5, 63.5) must be the search crop's centre pixel (127, 127). Reading
    the box 1-based, or with x + w as the last column, moves it by 1.8 or 0.9 crop pixels."""
    seq = tmp_path / "GOT-10k" / "train" / "GOT-10k_Train_000001"
    seq.mkdir(parents=True)
    image = np.zeros((150, 200, 3), np.uint8)
    image[48:80, 64:104] = 255
    cv2.imwrite(str(seq / "00000001.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (seq / "groundtruth.txt").write_text("64.0000,48.0000,40.0000,32.0000\n")
    for name in ("absence.label", "cut_by_image.label"):
        (seq / name).write_text("0\n")
    (seq / "cover.label").write_text("8\n")
    (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: box\nresolution: (200, 150)\n")
    (seq.parent / "list.txt").write_text("GOT-10k_Train_000001\n")
    out = tmp_path / "out"
    curate_quietly(tmp_path / "GOT-10k", out, shards=1, encoding="raw", max_reduction=1)
    m = load_manifest(out)
    assert len(m) == 1 and tuple(float(m.records[0][c]) for c in ("xmin", "ymin", "xmax", "ymax")) == (64, 48, 103, 79)
    crop = ShardReader(out).search_crop(b"train/GOT-10k_Train_000001/0000/000001").astype(float).mean(axis=2)
    rows, cols = np.nonzero(crop > 127.5)
    assert abs(cols.mean() - 127) < 0.3 and abs(rows.mean() - 127) < 0.3, (cols.mean(), rows.mean())
    assert 70 < cols.max() - cols.min() + 1 < 75  # 40 frame pixels at 255 / s_x = 1.82 crop pixels each


def test_class_filter_keeps_only_that_class_records_and_hidden_objects(got10k, tmp_path):
    root, truth = got10k
    with_hidden = {t.cls for t in truth if not t.visible}
    for kept in (sorted(with_hidden)[0], sorted({t.cls for t in truth} - with_hidden)[0]):
        out = tmp_path / kept
        curate_quietly(root, out, shards=1, classes=(kept,))
        m = assert_records_match(out, [t for t in truth if t.cls == kept])
        assert len(m) > 0 and (len(m.hidden) > 0) == (kept in with_hidden)
