"""`siamfc eval` accounts for every file as a user meets them: frames matched to ground-truth lines by their number
(never by their place in a sorted listing), a missing frame or a stray image named, a truncated JPEG caught with its
file named, result files that never overwrite each other, trailing blank lines, huge ``--init`` values, and an
evaluation that skips everything listing every reason."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_cli import siamfc

from siamfc.curate.synth import SynthConfig, generate
from siamfc.curate.synth.lasot import generate as generate_lasot
from siamfc.model.eval_sequences import EvalSequence, find_sequences
from siamfc.model.evaluate import evaluate, result_names, write_toolkit_results
from siamfc.tools.cli import main

W, H, SIDE, FRAMES = 96, 72, 16, 10


def square_at(i: int) -> tuple[int, int]:
    """0-based top-left of the white square in frame ``i`` (from 1): far enough apart that a frame off scores low."""
    return 4 + 7 * (i - 1), 4 + 5 * (i - 1)


def square_frame(i: int) -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    x, y = square_at(i)
    image[y:y + SIDE, x:x + SIDE] = 255
    return image


def write_square_frames(folder: Path, names: dict[int, str]) -> None:
    """Frame ``i`` (its square at :func:`square_at`) written as ``names[i]``, a real JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in names.items():
        assert cv2.imwrite(str(folder / name), square_frame(i), [cv2.IMWRITE_JPEG_QUALITY, 95])


def got10k_gt(frames: int = FRAMES) -> str:
    return "".join(f"{square_at(i)[0]},{square_at(i)[1]},{SIDE},{SIDE}\n" for i in range(1, frames + 1))


GOOD, GAP, CUT, BAD = (f"GOT-10k_Val_{i:06d}" for i in range(1, 5))


def got10k_folder(root: Path, name: str, numbers: range | list[int] = range(1, FRAMES + 1)) -> Path:
    """A GOT-10k val sequence folder (every label file the dataset has), its frames numbered ``numbers``."""
    write_square_frames(root / name, {i: f"{i:08d}.jpg" for i in numbers})
    (root / name / "groundtruth.txt").write_text(got10k_gt())
    for label, value in (("absence.label", 0), ("cover.label", 8), ("cut_by_image.label", 0)):
        (root / name / label).write_text(f"{value}\n" * FRAMES)
    (root / name / "meta_info.ini").write_text(f"[METAINFO]\nobject_class: square\nresolution: ({W}, {H})\n")
    return root / name


def otb_folder(root: Path, name: str, names: dict[int, str]) -> Path:
    write_square_frames(root / name / "img", names)
    (root / name / "groundtruth_rect.txt").write_text(  # OTB is 1-based, tab separated in some sequences
        "".join(f"{square_at(i)[0] + 1}\t{square_at(i)[1] + 1}\t{SIDE}\t{SIDE}\n" for i in range(1, FRAMES + 1)))
    return root / name


class StandStill:
    """A got10k-style tracker that keeps its first box."""

    name = "still"

    def track(self, img_files, box, visualize=False):
        return np.tile(np.asarray(box, dtype=float), (len(img_files), 1)), np.full(len(img_files), 1e-3)


class SquareFinder:
    """A got10k-style tracker that reads each frame and returns the white square's box: exact on the right frame,
    so it scores high only when every frame is the one its ground-truth line describes."""

    name = "finder"

    def track(self, img_files, box, visualize=False):
        boxes, times = np.zeros((len(img_files), 4)), np.full(len(img_files), 1e-3)
        for f, img_file in enumerate(img_files):
            ys, xs = np.nonzero(cv2.imread(str(img_file), cv2.IMREAD_GRAYSCALE) > 128)
            boxes[f] = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        return boxes, times


def run_eval(capsys, data: Path, out: Path, weights: Path, *options: str) -> tuple[int, str, str]:
    status = main(["eval", "--dataset", str(data), "--weights", str(weights), "--out", str(out), "--device", "cpu",
                   "--no-progress", *options])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


# -- frames by number ----------------------------------------------------------------------------------------------
def test_otb_frames_are_matched_by_number_not_by_sorted_name(tmp_path):
    # unpadded numbers sort 1, 10, 2, ...; suffixes in any case; a stray file in img/
    names = {i: f"{i}{('.jpg', '.JPG', '.jpeg')[i % 3]}" for i in range(1, FRAMES + 1)}
    folder = otb_folder(tmp_path, "Walk", names)
    (folder / "img" / "Thumbs.db").write_bytes(b"\0" * 16)
    (seq,), skipped = find_sequences(tmp_path)
    assert not skipped
    assert [p.name for p in seq.frames] == [names[i] for i in range(1, FRAMES + 1)]
    assert seq.notes == (f"{folder / 'img'}: 1 file not a frame (<number>.jpg, numbered from 1), left alone: "
                         "Thumbs.db",)
    report = evaluate(SquareFinder(), [seq], "finder", progress=False)
    assert report.curves.auc == pytest.approx(20 / 21)  # every box exact: IoU 1 clears every threshold but 1.0
    shifted = evaluate(SquareFinder(), [type(seq)(**{**seq.__dict__, "frames": tuple(sorted(seq.frames))})],
                       "sorted", progress=False)
    assert shifted.curves.auc < 0.5  # what matching by sorted name would have scored: the test can tell


def test_otb_frame_ranges_count_from_the_first_image_annotated(tmp_path):
    # OTB's David: 770 images, its 471 boxes annotate images 300..770 (the benchmark's configSeqs)
    img = tmp_path / "David" / "img"
    img.mkdir(parents=True)
    blank = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    for i in range(1, 771):
        (img / f"{i:04d}.jpg").write_bytes(blank)
    (tmp_path / "David" / "groundtruth_rect.txt").write_text("".join(f"{i},5,4,4\n" for i in range(1, 472)))
    (seq,), _ = find_sequences(tmp_path)
    assert len(seq) == 471 and seq.frames[0].name == "0300.jpg" and seq.frames[-1].name == "0770.jpg"
    assert seq.gt[0, 0] == 0 and not seq.notes  # images 1..299 are the video's, not strays
    (img / "0500.jpg").unlink()
    _, (skip,) = find_sequences(tmp_path)
    assert skip.kind == "frame_missing" and skip.reason.startswith(f"{img / '0500.jpg'}: frame 500 missing; "
                                                                   "groundtruth_rect.txt has 471 boxes for frames "
                                                                   "300..770")


@pytest.mark.slow
def test_got10k_missing_middle_frame_and_a_stray_image_skip_the_sequence_naming_both(capsys, tmp_path, weights):
    data = tmp_path / "data"
    got10k_folder(data, GOOD)
    gap = got10k_folder(data, GAP, [i for i in range(1, FRAMES + 1) if i != 3])
    write_square_frames(gap, {3: "thumb.jpg"})  # as many images as boxes: sorted order would shift every later frame
    assert len(list(gap.glob("*.jpg"))) == len((gap / "groundtruth.txt").read_text().splitlines())
    status, printed, _ = run_eval(capsys, data, tmp_path / "eval", weights)
    assert status == 0
    report = json.loads((tmp_path / "eval" / "SiamFC.json").read_text())
    assert list(report["per_sequence"]) == [GOOD]
    (skip,) = report["skipped"]
    assert skip["name"] == GAP and skip["kind"] == "frame_missing" and skip["file"] == str(gap / "00000003.jpg")
    assert skip["reason"].startswith(f"{gap / '00000003.jpg'}: frame 3 missing; groundtruth.txt has 10 boxes")
    assert "left alone: thumb.jpg" in skip["reason"]
    assert f"{GAP}: {skip['reason']}" in printed and "frame_missing (1):" in printed


@pytest.mark.slow
def test_stray_images_are_named_in_a_note_and_the_sequence_evaluated(capsys, tmp_path, weights):
    data = tmp_path / "data"
    folder = got10k_folder(data, "GOT-10k_Val_000001")
    write_square_frames(folder, {1: "thumb.jpg", 2: "00000000.jpg"})  # GOT-10k numbers from 1: frame 0 is a stray
    (folder / "notes.txt").write_text("x")
    sequences, skipped = find_sequences(data)
    assert not skipped and [p.name for p in sequences[0].frames] == [f"{i:08d}.jpg" for i in range(1, FRAMES + 1)]
    status, printed, _ = run_eval(capsys, data, tmp_path / "eval", weights)
    assert status == 0
    note = (f"{folder}: 3 files not a frame (<8 digits>.jpg from 00000001.jpg, nor an annotation file), left alone: "
            "00000000.jpg, notes.txt, thumb.jpg")
    assert f"GOT-10k_Val_000001: {note}" in printed
    report = json.loads((tmp_path / "eval" / "SiamFC.json").read_text())
    assert report["per_sequence"]["GOT-10k_Val_000001"]["notes"] == [note] and report["skipped"] == []


@pytest.fixture(scope="module")
def lasot_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lasot-files") / "LaSOT"
    generate_lasot(root)
    return root


def test_lasot_frames_through_the_source_stray_noted_missing_frame_named_blank_lines_ignored(lasot_tree):
    before, _ = find_sequences(lasot_tree)
    assert [s.name for s in before] == ["airplane/airplane-2", "cat/cat-1"]
    plane, cat = (lasot_tree / name for name in ("airplane/airplane-2", "cat/cat-1"))
    gt = (plane / "groundtruth.txt").read_bytes()
    try:
        (plane / "img" / "cover.jpg").write_bytes((plane / "img" / "00000001.jpg").read_bytes())
        (cat / "img" / "00000003.jpg").rename(cat / "img" / "saved.jpg")
        with open(plane / "groundtruth.txt", "a") as f:
            f.write("\n\n")  # two blank lines at the end used to drop the whole video
        sequences, skipped = find_sequences(lasot_tree)
        assert [s.name for s in sequences] == ["airplane/airplane-2"]
        np.testing.assert_array_equal(sequences[0].gt, before[0].gt, strict=True)
        assert sequences[0].notes == (f"{plane / 'img'}: 1 file not a frame (<number>.jpg), left alone: cover.jpg",)
        (skip,) = skipped
        assert skip.name == "cat/cat-1" and skip.kind == "frame_missing"
        assert skip.file == str(cat / "img" / "00000003.jpg") and "saved.jpg" in skip.reason
    finally:
        (plane / "img" / "cover.jpg").unlink(missing_ok=True)
        if (cat / "img" / "saved.jpg").exists():
            (cat / "img" / "saved.jpg").rename(cat / "img" / "00000003.jpg")
        (plane / "groundtruth.txt").write_bytes(gt)


def test_vid_frames_follow_their_xml_numbers_whatever_the_suffix_case(tmp_path):
    root = tmp_path / "ILSVRC2015"
    generate(root, SynthConfig(train_snippets=1, val_snippets=2, frames=8, sizes=((96, 72),)))
    before, _ = find_sequences(root)
    one, two = before
    lower = one.frames[1].with_suffix(".jpg")
    one.frames[1].rename(lower)  # 000001.jpg beside 000000.JPEG: still frame 1
    gone = two.frames[2]
    gone.rename(gone.with_name("backup.JPEG"))
    sequences, (skip,) = find_sequences(root)
    assert [s.name for s in sequences] == [one.name] and sequences[0].frames[1] == lower
    assert sequences[0].frames[2:] == one.frames[2:]
    assert skip.name == two.name and skip.kind == "frame_missing" and skip.file == str(gone)
    assert skip.reason.startswith(f"{gone}: frame {int(gone.stem)} missing")


def test_box_files_ignore_trailing_blank_lines_a_final_crlf_and_a_bom(tmp_path):
    want = ground_truth_of(tmp_path, "1,2,3,4\n5\t6 7,8\nnan,nan,nan,nan\n")
    assert want.shape == (3, 4) and np.isnan(want[2]).all()
    for text in ("1,2,3,4\r\n5\t6 7,8\r\nnan,nan,nan,nan\r\n", "1,2,3,4\n5\t6 7,8\nnan,nan,nan,nan\n\n\n",
                 "\ufeff1,2,3,4\r\n5\t6 7,8\r\nNaN,NaN,NaN,NaN\r\n\r\n\r\n", "1,2,3,4\n5\t6 7,8\nnan,nan,nan,nan"):
        np.testing.assert_array_equal(ground_truth_of(tmp_path, text), want)
    assert ground_truth_of(tmp_path, "1,2,3,4\n\n5,6,7,8\n") is None  # inside: every later line a frame off
    (skip,) = find_sequences(tmp_path / "own", "sequences")[1]
    assert skip.kind == "box_malformed" and "gt.txt, line 2: an empty line" in skip.reason


def ground_truth_of(folder: Path, text: str) -> np.ndarray | None:
    """The ground truth `siamfc eval --benchmark sequences` reads from a box file holding ``text`` (3 frames)."""
    seq = folder / "own" / "gt"
    if not seq.is_dir():
        write_square_frames(seq, {i: f"{i:04d}.jpg" for i in range(1, 4)})
    (seq / "gt.txt").write_bytes(text.encode())
    found, _ = find_sequences(folder / "own", "sequences")
    return found[0].gt if found else None


# -- frames decoded strictly ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_truncated_frame_skips_its_sequence_naming_the_file_and_the_decoder(tmp_path, weights):
    data = tmp_path / "data"
    got10k_folder(data, GOOD)
    cut = got10k_folder(data, CUT) / "00000004.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)  # every scan line holds data
    jpeg = cv2.imencode(".jpg", noise)[1].tobytes()
    cut.write_bytes(jpeg[:len(jpeg) * 2 // 3])
    assert cv2.imread(str(cut)) is not None  # OpenCV hands it over, its lower third grey: only a strict decode tells
    done = siamfc("eval", "--dataset", str(data), "--weights", str(weights), "--out", str(tmp_path / "eval"),
                  "--device", "cpu", "--no-progress")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "eval" / "SiamFC.json").read_text())
    assert list(report["per_sequence"]) == [GOOD]
    assert report["skipped"] == [{"name": CUT, "reason": f"{cut}: corrupt JPEG (Premature end of JPEG file)",
                                  "file": str(cut), "kind": "frame_corrupt"}]
    assert f"{CUT}: {cut}: corrupt JPEG" in done.stdout
    assert "JPEG" not in done.stderr  # no libjpeg warning without the file's name


def test_track_refuses_a_truncated_frame_in_one_line(capfd, tmp_path, weights):
    frames = tmp_path / "frames"
    write_square_frames(frames, {i: f"{i:04d}.jpg" for i in range(1, 4)})
    jpeg = cv2.imencode(".jpg", np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8))[1].tobytes()
    (frames / "0002.jpg").write_bytes(jpeg[:len(jpeg) // 2])
    assert main(["track", "--frames", str(frames), "--weights", str(weights), "--init", "4,4,16,16",
                 "--out", str(tmp_path / "boxes.txt"), "--device", "cpu"]) == 2
    err = capfd.readouterr().err.strip()
    assert err == f"siamfc track: error: {frames / '0002.jpg'}: corrupt JPEG (Premature end of JPEG file)", err


@pytest.mark.parametrize("init", ["0,0,1e200,1e200", "1e300,0,10,10", "0,0,1e400,5", "-2e6,0,10,10"])
def test_track_init_huge_or_not_finite_is_one_line(capsys, tmp_path, weights, init):
    frames = tmp_path / "frames"
    write_square_frames(frames, {i: f"{i:04d}.jpg" for i in range(1, 3)})
    assert main(["track", "--frames", str(frames), "--weights", str(weights), f"--init={init}",
                 "--out", str(tmp_path / "boxes.txt"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"siamfc track: error: --init {init!r}: ") and not (tmp_path / "boxes.txt").exists()


# -- result files ----------------------------------------------------------------------------------------------------
def test_sequences_with_one_folder_name_write_separate_result_files(tmp_path):
    boxes = np.tile([[4.0, 4.0, SIDE, SIDE]], (FRAMES, 1))
    sequences = [EvalSequence(name, (), boxes + [k, 0, 0, 0], "otb2015", gt_file=name)
                 for k, name in enumerate(("easy/Walk", "hard/Walk", "Jump"))]
    names = result_names(sequences)
    assert names == {"Jump": "Jump", "easy/Walk": "easy_Walk", "hard/Walk": "hard_Walk"}
    report = evaluate(StandStill(), [s.__class__(**{**s.__dict__, "frames": tuple(f"{i}.jpg" for i in range(FRAMES))})
                                     for s in sequences], "still", progress=False)
    results = write_toolkit_results(report, tmp_path / "results") / "OTB2015" / "still"
    assert sorted(p.name for p in results.glob("*.txt")) == ["Jump.txt", "easy_Walk.txt", "hard_Walk.txt"]
    first = {}
    for seq in sequences:  # each file holds its own sequence's boxes, back in OTB's 1-based pixels
        written = np.loadtxt(results / f"{names[seq.name]}.txt", delimiter=",")
        np.testing.assert_allclose(written, np.tile(seq.gt[0] + [1, 1, 0, 0], (FRAMES, 1)), atol=1e-3)
        first[seq.name] = tuple(written[0])
    assert first["easy/Walk"] != first["hard/Walk"]  # one file per sequence: written under one name, one would be lost


def test_result_files_that_would_still_collide_are_refused_before_tracking(capsys, tmp_path, weights):
    data = tmp_path / "data"
    names = {i: f"{i:04d}.jpg" for i in range(1, FRAMES + 1)}
    otb_folder(data, "Walk", names)
    otb_folder(data, "WALK", names)  # one file on a file system that ignores case
    status, _, err = run_eval(capsys, data, tmp_path / "eval", weights)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "sequences 'WALK'" in err and "'Walk'" in err and "OTB2015/<run>/Walk" in err
    assert not (tmp_path / "eval").exists()


# -- nothing left ----------------------------------------------------------------------------------------------------
def test_an_evaluation_that_skips_everything_lists_every_reason_grouped(capsys, tmp_path, weights):
    data = tmp_path / "data"
    for name in (GOOD, GAP):
        got10k_folder(data, name, [1, 2, 4, 5, 6, 7, 8, 9, 10])
    bad = got10k_folder(data, CUT) / "groundtruth.txt"
    bad.write_text(got10k_gt().replace("18,14,16,16", "18,14,16"))
    status, printed, err = run_eval(capsys, data, tmp_path / "eval", weights)
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no sequence to evaluate; all 3 skipped: 2 frame_missing, 1 box_malformed (each listed above)" in err
    lines = printed.splitlines()
    assert lines[0] == "3 sequences skipped:"
    assert lines[1] == "  frame_missing (2):" and lines[4] == "  box_malformed (1):"
    assert lines[2].startswith(f"    {GOOD}: {data / GOOD / '00000003.jpg'}: frame 3 missing")
    assert lines[3].startswith(f"    {GAP}: {data / GAP / '00000003.jpg'}: frame 3 missing")
    assert lines[5] == f"    {CUT}: {bad}, line 3: '18,14,16' is not 4 finite numbers x,y,w,h"
