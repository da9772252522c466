"""Every file under a dataset root is accounted for: read, reported, or outside the layout by kind; no folder, frame
or split-list name is passed over in silence (the one set of rules every source follows)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from siamfc.curate.manifest import load_manifest
from siamfc.curate.sources import FORMATS
from siamfc.curate.sources.account import NOT_IN_LAYOUT
from siamfc.curate.synth import default_config, generate_format

from cli_runner import run_cli as _cli
from source_checks import curate_quietly, skip_entries

SMALL = {"vid": dict(train_snippets=2, val_snippets=1, frames=4), "got10k": dict(frames=4),
         "lasot": dict(frames=4), "trackingnet": dict(frames=4), "coco": {}}


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """One small synthetic tree per format, written once; tests copy the one they damage."""
    base = tmp_path_factory.mktemp("trees")
    made = {}
    for fmt in FORMATS:
        config = default_config(fmt)
        config = type(config)(**{**config.__dict__, **SMALL[fmt]}) if SMALL.get(fmt) else config
        generate_format(base / fmt, fmt, config)
        made[fmt] = base / fmt
    return made


def _copy(trees: dict[str, Path], fmt: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trees[fmt], tmp_path / fmt))


def _all_files(root: Path) -> set[str]:
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


def _a_frame_folder(root: Path, fmt: str) -> Path:
    """The folder of the first curated sequence's frames."""
    first = FORMATS[fmt].search(root, FORMATS[fmt].splits).sequences[0]
    return next(p for p in first.input_files() if p.suffix.lower() in (".jpg", ".jpeg")).parent


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_file_is_read_reported_or_outside_by_kind(trees, tmp_path, fmt):
    root = _copy(trees, fmt, tmp_path)
    frames = _a_frame_folder(root, fmt)
    (frames / "notes.txt").write_text("a stray file among the frames\n")
    (root / "extra" / "pics").mkdir(parents=True)
    shutil.copy(next(frames.glob("*.[jJ]*")), root / "extra" / "pics" / "0001.jpg")
    summary = curate_quietly(root, tmp_path / "out", fmt, list_unused=True, shards=2)  # sequences: never detected
    files = summary.files
    every = _all_files(root)
    assert files.files == len(every)
    assert files.read + files.reported + files.outside_total == files.files
    unused = dict(files.unused)
    assert set(unused) <= every and len(unused) == files.outside_total
    # the folder of images outside the layout is named, not only counted
    assert any(line.startswith(f"{root / 'extra' / 'pics'}: 1 image ") for line in files.folders), files.folders
    assert unused[str(root / "extra" / "pics" / "0001.jpg")] == NOT_IN_LAYOUT
    stray = str(frames / "notes.txt")
    if fmt == "coco":  # a COCO image folder holds what the JSON names: anything else is outside the layout
        assert unused[stray] == NOT_IN_LAYOUT
    else:  # a file among a sequence's frames is reported as not_a_frame, by name
        assert stray not in unused
        assert [e for e in skip_entries(tmp_path / "out") if e["reason"] == "not_a_frame"
                and e["detail"].startswith(stray + ":")]
    on_file = json.loads((tmp_path / "out" / "summary.json").read_text())["files"]
    assert on_file["files"] == files.files and on_file["read"] == files.read
    assert summary.lines()[-1].startswith(f"files     {files.files} files under the root: {files.read} read, "
                                          f"{files.reported} reported, {files.outside_total} outside the layout")


def test_the_files_of_a_split_not_asked_for_count_as_that(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    summary = curate_quietly(root, tmp_path / "out", splits=("train",), shards=2)
    val_files = _all_files(root / "val")
    assert summary.files.outside == {"split val (not asked for)": len(val_files)}
    assert summary.files.folders == []


def test_lasot_videos_in_odd_folders_and_unmatched_split_names_are_named(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    shutil.copytree(root / "bear" / "bear-1", root / "airplane" / "bear-9")  # a video under another class
    shutil.copytree(root / "airplane" / "airplane-1", root / "airplane" / "airplane_3")  # not <class>-<n>
    with open(root / "testing_set.txt", "a") as f:
        f.write("cat-77\n")  # a misspelt name
    lines = (root / "testing_set.txt").read_text().splitlines()
    summary = curate_quietly(root, tmp_path / "out")
    passed = summary.folders_passed_over
    assert any(p.startswith(f"{root / 'airplane' / 'bear-9'}: video of class 'bear' in the folder of class "
                            "'airplane'") for p in passed), passed
    assert any(p.startswith(f"{root / 'airplane' / 'airplane_3'}: ") for p in passed), passed
    assert f"{root / 'testing_set.txt'}, line {len(lines)}: 'cat-77' names no video under {root} (a misspelt name " \
           "puts its video in train)" in passed
    # their files are reported, not read and not lost
    reported = len(_all_files(root / "airplane" / "bear-9")) + len(_all_files(root / "airplane" / "airplane_3"))
    assert summary.files.reported == reported


def test_a_lasot_class_folder_as_root_keeps_the_datasets_split(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    test_names = set((root / "testing_set.txt").read_text().split())
    cls = next(p.name for p in sorted(root.iterdir()) if p.is_dir() and any(c.name in test_names for c in p.iterdir()))
    summary = curate_quietly(root / cls, tmp_path / "out")
    snippets = set(load_manifest(tmp_path / "out").snippets.tolist())
    expected = {f"{'test' if v.name in test_names else 'train'}/{cls}/{v.name}" for v in (root / cls).iterdir()}
    assert snippets == expected and any(s.startswith("test/") for s in snippets)
    assert summary.notes == [f"{root / cls}: lies inside the dataset root {root}, whose testing_set.txt sets the "
                             "split of its videos"]


def test_lasot_trailing_blank_lines_and_upper_case_frames_lose_nothing(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    reference = curate_quietly(trees["lasot"], tmp_path / "ref")
    video = root / "airplane" / "airplane-1"
    with open(video / "groundtruth.txt", "ab") as f:
        f.write(b"\r\n\r\n")
    for image in (video / "img").iterdir():
        image.rename(image.with_suffix(".JPG"))
    summary = curate_quietly(root, tmp_path / "out")
    assert summary.skipped == reference.skipped == 0
    assert len(load_manifest(tmp_path / "out")) == len(load_manifest(tmp_path / "ref"))


def test_a_trackingnet_chunk_in_lower_case_is_curated_under_its_own_name(trees, tmp_path):
    root = _copy(trees, "trackingnet", tmp_path)
    chunk = next(p for p in sorted(root.iterdir()) if p.name.startswith("TRAIN_"))
    chunk.rename(root / chunk.name.lower())
    (root / "TRAIN").mkdir()  # a folder meant as a chunk, but not one: named
    curate_quietly(trees["trackingnet"], tmp_path / "ref")
    summary = curate_quietly(root, tmp_path / "out")
    ours, ref = load_manifest(tmp_path / "out"), load_manifest(tmp_path / "ref")
    assert ours.snippets.tolist() == ref.snippets.tolist()
    assert len(ours) == len(ref)
    assert f"{root / 'TRAIN'}: not a chunk name (TRAIN_<k>); rename it to curate its videos" in \
        summary.folders_passed_over


def test_got10k_upper_case_frames_strays_and_a_missing_class(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    seq = sorted((root / "train").glob("GOT-10k_Train_*"))[0]
    for image in seq.glob("*.jpg"):
        image.rename(image.with_suffix(".JPG"))
    shutil.copy(seq / "00000003.JPG", seq / "00000003 (copy).jpg")
    (seq / "notes.txt").write_text("x\n")
    (seq / "meta_info.ini").unlink()
    reference = curate_quietly(trees["got10k"], tmp_path / "ref")
    summary = curate_quietly(root, tmp_path / "out")
    ours, ref = load_manifest(tmp_path / "out"), load_manifest(tmp_path / "ref")
    assert len(ours) == len(ref)  # every .JPG frame found, nothing dropped for the class
    named = sorted(e["detail"].split(":")[0] for e in skip_entries(tmp_path / "out"))
    assert named == [str(seq / "00000003 (copy).jpg"), str(seq / "notes.txt")]
    assert summary.skipped_by_reason == {"not_a_frame": 2} and reference.skipped == 0
    assert summary.notes == [f"{seq / 'meta_info.ini'}: no such file; the sequence's records have no class"]


def test_list_unused_names_each_file_outside_the_layout(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    done = _cli("curate", str(root), str(tmp_path / "out"), "--no-progress", "--list-unused")
    assert done.returncode == 0, done.stderr
    listed = [line for line in done.stdout.splitlines() if line.startswith("unused    ")]
    nlp = sorted(str(p) for p in root.rglob("nlp.txt"))
    assert sorted(line.split()[1] for line in listed) == nlp
    assert all(line.endswith("(language descriptions (nlp.txt))") for line in listed)
