"""What every source format promises, checked once for all of them (``siamfc.curate.sources.FORMATS``): a curation
of the synthetic tree holds exactly the tree's truth and crops equal to an independent computation; damage to one
sequence is skipped, named with its file (and line), and costs no other record. Each format says in ``LAYOUTS``
how its tree is damaged; what only one format does stays in its own ``test_source_<format>.py``."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from siamfc.curate.manifest import load_manifest
from siamfc.curate.sources import FORMATS
from siamfc.curate.synth.truth import Truth

from source_checks import assert_crops_match_reference, assert_records_match, curate_quietly, skip_entries

BoxLine = Callable[[Path, Truth], tuple[Path, int]]  # (tree root, a visible object) -> (box file, its line number)


@dataclass(frozen=True)
class Layout:
    """How a format's tree is damaged (None: the format has no such file)."""

    box_line: BoxLine | None = None  # where an object's box is written as a line of text
    bad_line: str = "12,abc,7,8"  # a box line that cannot be read
    newline: str = "\n"  # how its box files end their lines
    label_file: Callable[[Path, str], Path] | None = None  # (root, snippet id) -> a file whose loss skips the video
    strays_reported: bool = True  # whether a stray file beside the frames is reported as not_a_frame
    every: int = 3  # every n-th visible object's crops compared with the reference


def _sequence(fmt: str, root: Path, snippet: str):
    return next(s for s in FORMATS[fmt].search(root, FORMATS[fmt].splits).sequences if s.id == snippet)


def _benchmark_line(fmt: str) -> BoxLine:
    """The sequence's own ``box_file`` and ``line_number`` (OTB, UAV, NfS, TC128, TNL2K, sequences)."""
    def where(root: Path, t: Truth) -> tuple[Path, int]:
        sequence = _sequence(fmt, root, t.snippet)
        return sequence.box_file, sequence.line_number(sequence.track_frames().index(t.path))
    return where


def _trackingnet_anno(root: Path, snippet: str) -> Path:
    _, chunk, video = snippet.split("/")
    return root / chunk / "anno" / f"{video}.txt"


LAYOUTS: dict[str, Layout] = {
    "vid": Layout(every=8),  # boxes in one XML per frame: malformed XML is test_bad_input.py's; crops test_curate.py's
    "coco": Layout(strays_reported=False, every=2),  # boxes in one JSON: tests/test_source_coco.py; images shared
    "got10k": Layout(box_line=lambda root, t: (t.path.parent / "groundtruth.txt", t.frame),
                     label_file=lambda root, snippet: root / snippet / "cover.label"),
    "lasot": Layout(box_line=lambda root, t: (t.path.parent.parent / "groundtruth.txt", t.frame),
                    label_file=lambda root, snippet: root.joinpath(*snippet.split("/")[1:]) / "full_occlusion.txt",
                    every=2),
    "trackingnet": Layout(box_line=lambda root, t: (_trackingnet_anno(root, t.snippet), t.frame + 1),
                          newline="\r\n", label_file=_trackingnet_anno, every=1),
    "otb": Layout(box_line=_benchmark_line("otb")),
    "uav": Layout(box_line=_benchmark_line("uav")),
    "nfs": Layout(box_line=_benchmark_line("nfs"), bad_line="1 x 2 3 4 5 6 7 8 9"),
    "tc128": Layout(box_line=_benchmark_line("tc128")),
    "tnl2k": Layout(box_line=_benchmark_line("tnl2k")),
    "sequences": Layout(box_line=_benchmark_line("sequences")),
    "sequences1": Layout(box_line=_benchmark_line("sequences1")),
}
ALL = sorted(LAYOUTS)
WITH_LINES = [fmt for fmt in ALL if LAYOUTS[fmt].box_line is not None]
WITH_LABELS = [fmt for fmt in ALL if LAYOUTS[fmt].label_file is not None]
WITH_STRAYS = [fmt for fmt in ALL if LAYOUTS[fmt].strays_reported]
HEAVY_CROPS = {"vid", "got10k", "lasot", "trackingnet", "coco"}  # their large frames take seconds: the full suite's


def _truth(fmt: str, root: Path, written: list) -> list[Truth]:
    """The tree's truth as :class:`Truth` (VID's writer returns its XML objects)."""
    if fmt != "vid":
        return written
    return [Truth(o.snippet, o.frame, o.track, o.wnid, tuple(map(float, o.box)), o.width, o.height,
                  root / "Data" / "VID" / o.snippet / f"{o.frame:06d}.JPEG", occluded=o.occluded,
                  generated=o.generated) for o in written]


@pytest.fixture(scope="module")
def tree(synth_tree) -> Callable[[str], tuple[Path, list[Truth]]]:
    def get(fmt: str) -> tuple[Path, list[Truth]]:
        root, written = synth_tree(fmt)
        return root, _truth(fmt, root, written)
    return get


def test_every_format_says_how_its_tree_is_damaged():
    assert set(LAYOUTS) == set(FORMATS)


# -- the untouched tree -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL)
def test_records_match_the_truth(tree, raw_curation, fmt):
    root, truth = tree(fmt)
    out = raw_curation(fmt)
    m = assert_records_match(out, truth)
    assert m.complete and m.source == fmt
    assert sorted(str(s) for s in m.snippets) == sorted({t.snippet for t in truth})


@pytest.mark.parametrize("fmt", [pytest.param(f, marks=pytest.mark.slow) if f in HEAVY_CROPS else f for f in ALL])
def test_crops_match_the_reference(tree, raw_curation, fmt):
    _, truth = tree(fmt)
    visible = sum(t.visible for t in truth)
    assert assert_crops_match_reference(raw_curation(fmt), truth, every=LAYOUTS[fmt].every) == -(
        -visible // LAYOUTS[fmt].every) >= 2


# -- one damaged copy per format ----------------------------------------------------------------------------------


@dataclass
class Damaged:
    root: Path
    out: Path
    truth: list[Truth]  # of the copy: paths under ``root``
    lost: set[tuple[str, int]]  # (snippet, frame) the curation cannot hold
    expected: list[tuple[str, int | None, str, str]]  # (snippet, frame, reason, text the detail starts with)
    baseline: list[dict]  # the untouched tree's skip entries


def _key(entry: dict) -> tuple[str, int | None, str]:
    return entry["snippet"], entry["frame"], entry["reason"]


def _replace_line(path: Path, number: int, text: str) -> None:
    """Line ``number`` (1-based) replaced, its line end kept."""
    lines = path.read_bytes().decode().split("\n")
    lines[number - 1] = text + ("\r" if lines[number - 1].endswith("\r") else "")
    path.write_bytes("\n".join(lines).encode())


@pytest.fixture(scope="module")
def damaged(tree, raw_curation, tmp_path_factory) -> Callable[[str], Damaged]:
    """``damaged(fmt)``: a copy of the tree whose first sequence has a malformed box line, a missing frame file
    (two visible frames in its middle), a stray file beside its frames and two blank lines after its last box line;
    the second sequence has lost a label file; curated once."""
    made: dict[str, Damaged] = {}

    def make(fmt: str) -> Damaged:
        if fmt in made:
            return made[fmt]
        layout, (source, source_truth) = LAYOUTS[fmt], tree(fmt)
        root = tmp_path_factory.mktemp(f"contract-{fmt}") / source.name
        shutil.copytree(source, root)
        truth = [dataclasses.replace(t, path=root / t.path.relative_to(source)) for t in source_truth]
        snippets = sorted({t.snippet for t in truth})
        first = snippets[0]
        frames = sorted({t.frame for t in truth if t.snippet == first and t.visible})
        middle = frames[len(frames) // 2 - 1: len(frames) // 2 + 1]
        assert len(middle) == 2, (fmt, frames)
        lost, expected = set(), []

        gone = next(t for t in truth if t.snippet == first and t.frame == middle[1])
        gone.path.unlink()
        lost.add((first, gone.frame))
        expected.append((first, gone.frame, "frame_missing", f"{gone.path}: no such file"))
        if layout.box_line is not None:
            bad = next(t for t in truth if t.snippet == first and t.frame == middle[0])
            box_file, number = layout.box_line(root, bad)
            _replace_line(box_file, number, layout.bad_line)
            lost.add((first, bad.frame))
            expected.append((first, bad.frame, "box_malformed", f"{box_file}, line {number}: "))
            text = box_file.read_bytes().decode()
            box_file.write_bytes((text + ("" if text.endswith("\n") else layout.newline) + layout.newline * 2).encode())
        if layout.strays_reported:
            stray = gone.path.parent / "notes.txt"
            stray.write_text("not a frame\n")
            expected.append((first, None, "not_a_frame", str(stray)))
        if layout.label_file is not None:
            second = snippets[1]
            label = layout.label_file(root, second)
            label.unlink()
            lost.update((t.snippet, t.frame) for t in truth if t.snippet == second)
            expected.append((second, None, "label_missing", str(label)))
        out = tmp_path_factory.mktemp(f"contract-{fmt}-out") / "cur"
        curate_quietly(root, out, fmt=fmt, shards=2)
        made[fmt] = Damaged(root, out, truth, lost, expected, skip_entries(raw_curation(fmt)))
        return made[fmt]

    return make


def _entry(d: Damaged, snippet: str, frame: int | None, reason: str) -> dict:
    found = [e for e in skip_entries(d.out) if _key(e) == (snippet, frame, reason)]
    assert found, (snippet, frame, reason, skip_entries(d.out))
    return found[0]


@pytest.mark.parametrize("fmt", ALL)
def test_each_damage_is_one_report_and_nothing_else_is_lost(damaged, fmt):
    d = damaged(fmt)
    report = skip_entries(d.out)
    lost_snippets = {s for s, f, reason, _ in d.expected if f is None and reason == "label_missing"}
    kept_baseline = [_key(e) for e in d.baseline
                     if (e["snippet"], e["frame"]) not in d.lost and e["snippet"] not in lost_snippets]
    got = Counter(_key(e) for e in report)
    assert set(got) == {e[:3] for e in d.expected} | set(kept_baseline), (got, d.expected)
    assert all(got[e[:3]] >= 1 for e in d.expected)
    m = assert_records_match(d.out, [t for t in d.truth if (t.snippet, t.frame) not in d.lost])
    assert m.complete


@pytest.mark.parametrize("fmt", ALL)
def test_a_missing_frame_is_frame_missing_naming_it(damaged, fmt):
    d = damaged(fmt)
    for snippet, frame, reason, start in d.expected:
        if reason == "frame_missing":
            assert _entry(d, snippet, frame, reason)["detail"].startswith(start)


@pytest.mark.parametrize("fmt", WITH_STRAYS)
def test_a_stray_file_is_not_a_frame_naming_it(damaged, fmt):
    d = damaged(fmt)
    (snippet, _, _, start), = [e for e in d.expected if e[2] == "not_a_frame"]
    assert _entry(d, snippet, None, "not_a_frame")["detail"].startswith(start)


@pytest.mark.parametrize("fmt", WITH_LINES)
def test_a_malformed_box_line_is_named_with_file_and_line(damaged, fmt):
    d = damaged(fmt)
    (snippet, frame, _, start), = [e for e in d.expected if e[2] == "box_malformed"]
    assert _entry(d, snippet, frame, "box_malformed")["detail"].startswith(start)


@pytest.mark.parametrize("fmt", WITH_LINES)
def test_trailing_blank_lines_are_ignored(damaged, fmt):
    d = damaged(fmt)
    first = min(t.snippet for t in d.truth)
    assert not [e for e in skip_entries(d.out) if e["snippet"] == first and e["reason"] == "gt_line_count"]


@pytest.mark.parametrize("fmt", WITH_LABELS)
def test_a_missing_label_file_skips_its_video_naming_the_file(damaged, fmt):
    d = damaged(fmt)
    (snippet, _, _, path), = [e for e in d.expected if e[2] == "label_missing"]
    assert _entry(d, snippet, None, "label_missing")["detail"].startswith(f"{path}: no such file")
    m = load_manifest(d.out)
    assert not any(str(m.snippets[r["snippet"]]) == snippet for r in m.records)
    assert not any(str(m.snippets[h["snippet"]]) == snippet for h in m.hidden)
