"""`siamfc curate --prune`: the records of committed snippets whose folders are gone from the source are dropped,
the rest stays byte for byte, and the manifest, the skip report, the plan and `stats --verify` agree afterwards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from siamfc.curate.folder import CurationLayout
from siamfc.curate.manifest import load_manifest
from siamfc.curate.run import SKIPPED_FILE, SUMMARY_FILE, CurationConfig, skip_report_state
from siamfc.curate.shards import snippet_values
from siamfc.curate.synth import SynthConfig, generate
from siamfc.tools.cli import main

from conftest import all_values

SMALL = SynthConfig(train_snippets=4, val_snippets=2, frames=6, sizes=((480, 360), (320, 240)))


def curate_cli(capsys: pytest.CaptureFixture[str], source: Path, out: Path, *options: str) -> tuple[int, str, str]:
    """``siamfc curate SOURCE OUT --no-progress --shards 3 OPTIONS``: (exit status, stdout, stderr)."""
    code = main(["curate", str(source), str(out), "--no-progress", "--shards", "3", *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snippet_records(out: Path) -> dict[str, bytes]:
    """Every committed snippet's stored record, read from the shards."""
    layout = CurationLayout.open(out)
    return {s: bytes(v) for i in layout.existing_shards() for s, v in snippet_values(layout, i)}


def remove_snippet(source: Path, snippet: str) -> None:
    """Delete a VID snippet's folders (annotations and frames) from the source tree."""
    for top in ("Annotations", "Data"):
        shutil.rmtree(source / top / "VID" / snippet)


def skip_entries(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / SKIPPED_FILE).read_text().splitlines() if line.strip()]


@pytest.fixture
def curated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, list[str]]:
    """(source, curation, snippet ids) of a small VID tree with one unreadable frame in each of two train
    snippets (so the skip report holds entries of a snippet to prune and of one to keep)."""
    source, out = tmp_path / "ILSVRC2015", tmp_path / "cur"
    objects = generate(source, SMALL)
    snippets = sorted({o.snippet for o in objects})
    for snippet in snippets[:2]:
        (source / "Data" / "VID" / snippet / "000001.JPEG").write_bytes(b"not a jpeg")
    code, _, err = curate_cli(capsys, source, out)
    assert code == 0, err
    assert {e["snippet"] for e in skip_entries(out)} == set(snippets[:2])
    return source, out, snippets


def test_prune_drops_gone_snippets_and_keeps_the_rest_byte_for_byte(curated, capsys) -> None:
    source, out, snippets = curated
    gone = snippets[0]
    values, records = all_values(out), snippet_records(out)
    remove_snippet(source, gone)

    code, text, _ = curate_cli(capsys, source, out)  # without --prune: named, kept
    assert code == 0 and f"gone      1 committed snippets are no longer in the source (e.g. {gone})" in text
    assert snippet_records(out) == records

    code, text, err = curate_cli(capsys, source, out, "--prune")
    assert code == 0, err
    assert f"pruned    1 committed snippets no longer in the source (e.g. {gone})" in text and "gone " not in text
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["snippets_pruned"] == 1 and summary["snippets_gone"] == [gone]
    assert summary["curation_complete"]

    prefix = (gone + "/").encode()
    kept = {k: v for k, v in values.items() if not k.startswith(prefix)}
    assert len(kept) < len(values)
    assert all_values(out) == kept  # every other crop, byte for byte; none of the pruned snippet's
    assert snippet_records(out) == {s: v for s, v in records.items() if s != gone}
    m = load_manifest(out)
    assert gone not in m.snippets.tolist() and len(m) == len(kept) and m.complete and not m.damaged
    assert summary["curation_records"] == len(kept)
    assert gone not in json.loads((out / "plan.json").read_text())
    entries = skip_entries(out)
    assert entries and {e["snippet"] for e in entries} == {snippets[1]}
    assert skip_report_state(out / SKIPPED_FILE, entries) == "agrees"

    assert main(["stats", str(out), "--verify", "--workers", "1", "--no-progress"]) == 0
    stats = capsys.readouterr().out
    assert f"complete curation: {len(snippets) - 1} of {len(snippets) - 1} planned snippets committed" in stats
    assert "verify: OK" in stats and "PROBLEMS" not in stats and "skipped.jsonl agrees" in stats

    code, text, _ = curate_cli(capsys, source, out, "--prune")  # nothing more to prune
    assert code == 0 and "pruned" not in text and "gone" not in text
    assert json.loads((out / SUMMARY_FILE).read_text())["snippets_pruned"] == 0
    assert all_values(out) == kept


def test_only_the_splits_curated_are_pruned(curated, capsys) -> None:
    source, out, snippets = curated
    train, val = snippets[2], next(s for s in snippets if s.startswith("val/"))
    remove_snippet(source, train)
    remove_snippet(source, val)
    code, text, err = curate_cli(capsys, source, out, "--split", "train", "--prune")
    assert code == 0, err
    assert "pruned    1 committed snippets" in text
    assert set(snippet_records(out)) == set(snippets) - {train}
    code, text, _ = curate_cli(capsys, source, out, "--prune")
    assert code == 0 and "pruned    1 committed snippets" in text
    assert set(snippet_records(out)) == set(snippets) - {train, val}
    assert load_manifest(out).complete


def test_a_planned_snippet_gone_before_its_commit_leaves_the_plan(curated, capsys) -> None:
    """What a killed run leaves: a snippet planned, never committed; its folder then removed."""
    source, out, snippets = curated
    planned_only = "train/ILSVRC2015_VID_train_0001/ILSVRC2015_train_00009000"
    CurationLayout.open(out).add_to_plan([planned_only])
    assert not load_manifest(out).complete
    code, text, _ = curate_cli(capsys, source, out, "--prune")
    assert code == 0 and "pruned" not in text  # no record was dropped
    assert planned_only not in json.loads((out / "plan.json").read_text())
    assert load_manifest(out).complete and set(snippet_records(out)) == set(snippets)


def test_prune_refuses_max_snippets(curated, capsys) -> None:
    source, out, _ = curated
    before = snippet_records(out)
    code, text, err = curate_cli(capsys, source, out, "--prune", "--max-snippets", "2")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "prune cannot go with max_snippets" in err
    assert snippet_records(out) == before
    with pytest.raises(ValueError, match="prune cannot go with max_snippets"):
        CurationConfig(source=source, out=out, prune=True, max_snippets=1)
