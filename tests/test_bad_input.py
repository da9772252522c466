"""Bad input is skipped, reported with file and reason, and never loses good records."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.manifest import load_manifest

from cli_runner import run_cli
from source_checks import curate_quietly


def _frames_with_objects(objects, count: int) -> list[tuple[str, int]]:
    """``count`` distinct (snippet, frame) pairs that have objects, from different snippets where possible."""
    seen, picked = set(), []
    for o in sorted(objects, key=lambda o: (o.frame % 5, o.snippet, o.frame)):
        if (o.snippet, o.frame) not in seen and len(picked) < count:
            seen.add((o.snippet, o.frame))
            picked.append((o.snippet, o.frame))
    return picked


def _xml(root: Path, snippet: str, frame: int) -> Path:
    return root / "Annotations" / "VID" / snippet / f"{frame:06d}.xml"


def _jpeg(root: Path, snippet: str, frame: int) -> Path:
    return root / "Data" / "VID" / snippet / f"{frame:06d}.JPEG"


def _replace_first(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    new = re.sub(pattern, replacement, text, count=1, flags=re.S)
    assert new != text
    path.write_text(new)


@pytest.fixture(scope="module")
def broken(synth_vid, tmp_path_factory):
    """A copy of the synthetic tree with one of each kind of damage; returns (root, objects lost, expected skips)."""
    source, objects = synth_vid
    root = tmp_path_factory.mktemp("broken") / "ILSVRC2015"
    shutil.copytree(source, root)
    frames = _frames_with_objects(objects, 10)
    per_frame = {f: [o for o in objects if (o.snippet, o.frame) == f] for f in frames}
    lost, expected = set(), {}

    def lose(frame, reason, objs=None):
        for o in objs if objs is not None else per_frame[frame]:
            lost.add((o.snippet, o.track, o.frame))
        expected[frame] = reason

    (f0, f1, f2, f3, f4, f5, f6, f7, f8, f9) = frames
    _xml(root, *f0).write_text("<annotation><size><width>12")  # malformed
    lose(f0, "xml_malformed")
    _xml(root, *f1).write_text("")  # empty
    lose(f1, "xml_malformed")
    _jpeg(root, *f2).unlink()
    lose(f2, "frame_missing")
    data = _jpeg(root, *f3).read_bytes()
    _jpeg(root, *f3).write_bytes(data[: len(data) // 2])  # truncated
    lose(f3, "frame_corrupt")
    _jpeg(root, *f4).write_bytes(b"\xff\xd8" + bytes(range(256)) * 20 + b"\xff\xd9")  # garbage with JPEG markers
    lose(f4, "frame_corrupt")
    _replace_first(_xml(root, *f5), r"<width>\d+</width>", "<width>999</width>")  # size disagrees with the JPEG
    lose(f5, "size_mismatch")
    first6 = per_frame[f6][0]
    _replace_first(_xml(root, *f6), r"<xmax>\d+</xmax>(.*?)<xmin>(\d+)</xmin>", r"<xmax>\2</xmax>\1<xmin>\2</xmin>")
    lose(f6, "box_empty", [first6])
    first7 = per_frame[f7][0]
    _replace_first(_xml(root, *f7), r"<xmax>\d+</xmax>(.*?)<xmin>\d+</xmin>", r"<xmax>99999</xmax>\1<xmin>99990</xmin>")
    lose(f7, "box_outside_frame", [first7])
    first8 = per_frame[f8][0]
    _replace_first(_xml(root, *f8), r"<name>n\d+</name>", "<name>n00000000</name>")
    lose(f8, "class_unknown", [first8])
    first9 = per_frame[f9][0]
    _replace_first(_xml(root, *f9), r"<trackid>\d+</trackid>", "<trackid>seven</trackid>")  # not an integer
    lose(f9, "object_malformed", [first9])
    return root, lost, expected


@pytest.fixture(scope="module")
def broken_curation(broken, tmp_path_factory):
    out = tmp_path_factory.mktemp("broken-out") / "cur"
    curate_quietly(broken[0], out, shards=2)
    return out


def test_every_bad_input_is_reported_with_file_and_reason(broken, broken_curation):
    root, _, expected = broken
    report = [json.loads(line) for line in (broken_curation / "skipped.jsonl").read_text().splitlines()]
    reasons = {(e["snippet"], e["frame"]): e["reason"] for e in report}
    assert reasons == expected
    for e in report:
        assert str(root) in e["detail"], e  # the message names the file
    summary = json.loads((broken_curation / "summary.json").read_text())
    assert summary["skipped"] == len(report)
    assert set(summary["skipped_by_reason"]) == set(expected.values())


def test_good_records_survive_bad_neighbours(synth_vid, broken, broken_curation):
    _, objects = synth_vid
    _, lost, _ = broken
    m = load_manifest(broken_curation)
    got = {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])) for r in m.records}
    assert got == {(o.snippet, o.track, o.frame) for o in objects} - lost
    assert m.complete


def test_missing_root_is_one_clear_error(tmp_path):
    with pytest.raises(CurationError, match=r"nope: no such folder$"):
        curate_quietly(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "flat").mkdir()
    with pytest.raises(CurationError, match="flat: not a dataset layout siamfc knows"):
        curate_quietly(tmp_path / "flat", tmp_path / "out")
    with pytest.raises(CurationError, match="Annotations/VID: no such folder; expected an ILSVRC2015 tree"):
        curate_quietly(tmp_path / "flat", tmp_path / "out", fmt="vid")


def test_cli_reports_errors_without_traceback(tmp_path):
    proc = run_cli("curate", tmp_path / "missing", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.startswith("siamfc curate: error:") and str(tmp_path / "missing") in proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_folder_with_foreign_content_is_refused(synth_vid, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(CurationError, match="not empty and is not a siamfc curation"):
        curate_quietly(synth_vid[0], tmp_path / "busy")
