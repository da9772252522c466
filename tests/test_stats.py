"""`siamfc stats` on synthetic curations: figures against the generator's ground truth, computed here
independently; pictures are real PNGs; --verify catches a corrupted copy of the shards."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest

from siamfc.curate.folder import CurationLayout
from siamfc.curate.manifest import load_manifest
from siamfc.curate.plots import draw_target, montage_png
from siamfc.curate.run import SKIPPED_FILE
from siamfc.curate.shards import read_env
from siamfc.curate.sources.vid_classes import VID_CLASSES, WNIDS
from siamfc.curate.stats import curation_figures, manifest_figures
from siamfc.curate.synth import SynthConfig, SynthObject, generate, generate_format
from siamfc.curate.verify import verify
from siamfc.tools.cli import main

from source_checks import curate_quietly

QS = [5, 25, 50, 75, 95]


@pytest.fixture(scope="module")
def curated(synth_vid, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[SynthObject]]:
    """(the session's VID tree: 4 train and 2 val snippets of 24 frames, seed 0; its curation; its objects)."""
    root, objects = synth_vid
    assert SynthConfig() == SynthConfig(train_snippets=4, val_snippets=2, frames=24, seed=0)  # what the figures assume
    out = tmp_path_factory.mktemp("stats") / "curation"
    curate_quietly(root, out, workers=1, shards=2)
    return root, out, objects


@pytest.fixture(scope="module")
def figs(curated) -> dict:
    return curation_figures(curated[1])


def key_of(o: SynthObject) -> bytes:
    return f"{o.snippet}/{o.track:04d}/{o.frame:06d}".encode()


def summary_of(values: list[float]) -> dict:
    v = np.array(values, dtype=np.float64)
    return {"count": len(values), "min": min(values), "max": max(values), "mean": sum(values) / len(values),
            **{f"p{q}": float(np.percentile(v, q)) for q in QS}}


def assert_summary(got: dict, values: list[float], rel: float = 1e-5) -> None:
    want = summary_of(values)
    assert got["count"] == want["count"]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=rel, abs=1e-6), k


def test_counts_match_the_generator(curated, figs) -> None:
    vid, _, objects = curated
    split = lambda o: o.snippet.split("/")[0]  # noqa: E731
    tracks = {(o.snippet, o.track) for o in objects}
    xml_per_snippet = Counter(p.parent.relative_to(vid / "Annotations/VID").as_posix()
                              for p in (vid / "Annotations/VID").rglob("*.xml"))
    assert figs["complete"] and figs["snippets"] == {"committed": 6, "planned": 6}
    assert figs["records"] == len(objects) and figs["tracks"] == len(tracks)
    assert figs["frames"] == sum(xml_per_snippet.values())
    for s in ("train", "val"):
        mine = [o for o in objects if split(o) == s]
        assert figs["splits"][s] == {
            "snippets": sum(1 for k in xml_per_snippet if k.startswith(s + "/")),
            "tracks": len({(o.snippet, o.track) for o in mine}),
            "records": len(mine),
            "frames": sum(n for k, n in xml_per_snippet.items() if k.startswith(s + "/")),
        }
    assert list(figs["classes"]) == list(WNIDS)
    for wnid, c in figs["classes"].items():
        mine = [o for o in objects if o.wnid == wnid]
        assert c["name"] == VID_CLASSES[wnid]
        assert c["records"] == len(mine)
        assert c["tracks"] == len({(o.snippet, o.track) for o in mine})
        assert c["snippets"] == len({o.snippet for o in mine})
        assert c["by_split"] == {s: sum(split(o) == s for o in mine) for s in ("train", "val")}
    assert figs["flags"] == {"occluded": sum(o.occluded for o in objects),
                             "generated": sum(o.generated for o in objects), "cut": 0, "cover": {}}
    assert figs["source"] == "vid" and figs["hidden"]["total"] == 0
    assert figs["frame_sizes"] == dict(Counter(f"{o.width}x{o.height}" for o in objects))
    assert figs["skipped"] == {"total": 0, "by_reason": {}, "source": "shards", "report_file": "agrees"}


def test_distributions_match_independent_computation(curated, figs) -> None:
    _, _, objects = curated
    d = figs["distributions"]
    w = [o.box[2] - o.box[0] + 1 for o in objects]
    h = [o.box[3] - o.box[1] + 1 for o in objects]
    assert_summary(d["box_width"], w)
    assert_summary(d["box_height"], h)
    assert_summary(d["aspect_ratio"], [a / b for a, b in zip(w, h, strict=True)])
    assert_summary(d["box_frame_fraction"], [math.sqrt(a * b / (o.width * o.height))
                                             for a, b, o in zip(w, h, objects, strict=True)])
    s_z = [math.sqrt((a + (a + b) / 2) * (b + (a + b) / 2)) for a, b in zip(w, h, strict=True)]
    assert_summary(d["s_z"], s_z)
    assert_summary(d["scale"], [127 / s for s in s_z])

    def padding(o: SynthObject, side: float) -> float:
        cx, cy = (o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2
        ix = max(0.0, min(cx + side / 2, o.width - 0.5) - max(cx - side / 2, -0.5))
        iy = max(0.0, min(cy + side / 2, o.height - 0.5) - max(cy - side / 2, -0.5))
        return 1 - ix * iy / side**2

    pad_x = [padding(o, s * 255 / 127) for o, s in zip(objects, s_z, strict=True)]
    assert_summary(d["pad_z"], [padding(o, s) for o, s in zip(objects, s_z, strict=True)], rel=1e-4)
    assert_summary(d["pad_x"], pad_x, rel=1e-4)
    assert d["pad_x"]["max"] > 0.2  # the synthetic set has tracks leaving the view
    frames = defaultdict(list)
    for o in objects:
        frames[o.snippet, o.track].append(o.frame)
    assert_summary(d["track_length"], [len(f) for f in frames.values()])
    gaps = [b - a for f in frames.values() for a, b in zip(sorted(f), sorted(f)[1:], strict=False)]
    assert_summary(d["frame_gap"], gaps)
    with_gaps = sum(any(b - a > 1 for a, b in zip(sorted(f), sorted(f)[1:], strict=False)) for f in frames.values())
    assert figs["gaps"] == {"gaps": len(gaps), "gaps_over_1": sum(g > 1 for g in gaps), "tracks_with_gaps": with_gaps}
    assert figs["gaps"]["gaps_over_1"] > 0  # the leave-and-return track


def test_bytes_per_record_from_the_shards(curated, figs) -> None:
    _, root, objects = curated
    sizes, files = {}, 0
    for data in root.glob("shard-*.lmdb/data.mdb"):
        files += data.stat().st_size
        env = read_env(data.parent)  # the process's one handle on the shard
        with env.begin(db=env.open_db(b"crops", create=False)) as txn:
            sizes |= {bytes(k): len(v) for k, v in txn.cursor()}
    assert set(sizes) == {key_of(o) for o in objects}
    b = figs["bytes"]
    assert b["stored"] == sum(sizes.values())
    assert b["stored_per_record"] == pytest.approx(sum(sizes.values()) / len(objects))
    assert b["file"] == files and b["disk"] >= b["stored"]
    assert b["disk_per_record"] == pytest.approx(b["disk"] / len(objects))
    assert_summary(figs["distributions"]["nbytes"], list(sizes.values()))


def test_figures_do_not_depend_on_record_order(curated) -> None:
    m = load_manifest(curated[1])
    shuffled = dataclasses.replace(m, records=np.random.default_rng(1).permutation(m.records))
    assert manifest_figures(shuffled) == manifest_figures(m)


def test_partial_curation_with_skips_reported_from_the_shards(tmp_path, capsys) -> None:
    objects = generate(tmp_path / "vid", SynthConfig(train_snippets=1, val_snippets=1, frames=6, seed=3))
    first = objects[0].snippet
    ann, data = tmp_path / "vid/Annotations/VID" / first, tmp_path / "vid/Data/VID" / first
    (ann / "000002.xml").write_text("<annotation><folder>")  # xml_malformed, one per frame
    (data / "000004.JPEG").write_bytes(b"not a jpeg")  # frame_corrupt, one per object in the frame
    curate_quietly(tmp_path / "vid", tmp_path / "cur", max_snippets=1, workers=1, shards=2)
    # what a killed run leaves: both snippets planned, one committed, no (or a stale) skipped.jsonl
    CurationLayout.open(tmp_path / "cur").add_to_plan(sorted({o.snippet for o in objects}))
    (tmp_path / "cur" / SKIPPED_FILE).unlink()
    figs = curation_figures(tmp_path / "cur")
    assert not figs["complete"] and figs["snippets"] == {"committed": 1, "planned": 2}
    n_corrupt = sum(o.snippet == first and o.frame == 4 for o in objects)
    assert figs["skipped"]["by_reason"] == {"frame_corrupt": n_corrupt, "xml_malformed": 1}
    assert figs["skipped"]["report_file"] == "missing"
    assert figs["records"] == sum(o.snippet == first and o.frame not in (2, 4) for o in objects)
    assert main(["stats", str(tmp_path / "cur")]) == 0
    out = capsys.readouterr().out
    assert "partial curation: 1 of 2 planned snippets committed" in out
    assert f"frame_corrupt {n_corrupt}, xml_malformed 1" in out


@pytest.mark.slow
def test_out_writes_json_pngs_and_html(curated, figs, tmp_path, capsys) -> None:
    _, root, objects = curated
    out = tmp_path / "report"
    assert main(["stats", str(root), "--out", str(out), "--montage", "6", "--verify", "--workers", "1",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "complete curation: 6 of 6" in text and "verify: OK" in text
    saved = json.loads((out / "stats.json").read_text())
    assert saved == json.loads(json.dumps(figs))  # same figures, stable keys
    assert saved["records"] == len(objects)
    assert json.loads((out / "verify.json").read_text())["ok"] is True
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} >= {"classes.png", "montage.png", "hist_s_z.png", "hist_track_length.png",
                                      "hist_frame_gap.png", "hist_pad_x.png", "hist_box_width.png"}
    for p in pngs:
        image = cv2.imread(str(p))
        assert image is not None, p
        assert image.shape[0] >= 300 and image.shape[1] >= 500, p
        assert image.std() > 10, p  # not a blank canvas
    montage = cv2.imread(str(out / "montage.png"))
    assert montage.shape[1] == 4 * (3 * 6 + 127 + 255) and montage.shape[0] > 2 * 255  # 6 cells: 2 rows of 4
    page = (out / "index.html").read_text()
    assert all(f"src='{p.name}'" in page for p in pngs)
    assert "verify: OK" in page and "domestic cat" in page


def test_montage_is_seeded(curated, tmp_path) -> None:
    root = curated[1]
    m = load_manifest(root)
    paths = [montage_png(root, m, tmp_path / f"m{i}.png", n=4, seed=s) for i, s in enumerate((7, 7, 8))]
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b and a != c


@pytest.mark.parametrize(("size", "w", "h", "s_z", "want"), [
    (255, 41, 21, 127.0, (107, 117, 147, 137)),  # 41x21 crop px centred on pixel 127
    (127, 41, 21, 127.0, (43, 53, 83, 73)),  # same box in the exemplar, centred on pixel 63
    (255, 82, 42, 254.0, (107, 117, 147, 137)),  # scale 127 / s_z = 0.5
])
def test_target_box_is_drawn_where_the_target_is(size, w, h, s_z, want) -> None:
    drawn = draw_target(np.zeros((size, size, 3), np.uint8), w, h, s_z)
    ys, xs = np.nonzero(drawn[..., 1])
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == want
    assert drawn[want[1], (want[0] + want[2]) // 2, 1] and not drawn[size // 2, size // 2].any()  # an outline


def test_verify_catches_a_corrupted_copy(curated, tmp_path, capsys) -> None:
    _, root, objects = curated
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    garbage, deleted, resized = (key_of(objects[i]) for i in (5, 40, 100))
    orphan = objects[0].snippet.encode() + b"/0099/000000"
    small = b"J" + cv2.imencode(".jpg", np.full((100, 100, 3), 128, np.uint8))[1].tobytes()
    for data in copy.glob("shard-*.lmdb/data.mdb"):
        env = lmdb.open(str(data.parent), max_dbs=2)
        db = env.open_db(b"crops")
        with env.begin(write=True, db=db) as txn:
            if txn.get(garbage) is not None:
                txn.put(garbage, b"J" + b"\x00garbage" * 100)
            txn.delete(deleted)
            if txn.get(resized) is not None:
                txn.put(resized, small)
            if txn.get(key_of(objects[0])) is not None:
                txn.put(orphan, small)
        env.close()
    report = verify(copy, workers=2, progress=False)
    found = {(p.key.encode(), p.reason) for p in report.problems}
    assert found == {(garbage, "undecodable"), (garbage, "size_mismatch"), (garbage, "checksum_mismatch"),
                     (deleted, "missing"), (orphan, "orphan"), (resized, "bad_shape"), (resized, "size_mismatch"),
                     (resized, "checksum_mismatch")}
    assert report.entries == len(objects) and report.crops == len(objects)
    assert report.decoded == len(objects) - 3
    assert main(["stats", str(copy), "--verify", "--workers", "1", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEMS" in out and garbage.decode() in out and deleted.decode() in out
    clean = verify(root, workers=1, progress=False)
    assert clean.ok and clean.decoded == len(objects)


def test_not_a_curation_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["stats", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(tmp_path) in err


@pytest.mark.slow
def test_records_without_a_class_show_as_none(tmp_path, capsys) -> None:
    """Class "" (a GOT-10k sequence without ``object_class``; TrackingNet, which has no classes) is shown as
    ``(none)`` in the class table, stats.json, the chart and the page; it is not counted as a class."""
    got10k, trackingnet = tmp_path / "got10k", tmp_path / "trackingnet"
    generate_format(got10k, "got10k", SynthConfig(train_snippets=2, val_snippets=1, frames=4, sizes=((320, 240),)))
    (got10k / "train" / "GOT-10k_Train_000001" / "meta_info.ini").unlink()
    generate_format(trackingnet, "trackingnet", SynthConfig(train_snippets=2, val_snippets=0, frames=4,
                                                            sizes=((320, 240),)))
    for source in (got10k, trackingnet):
        curate_quietly(source, tmp_path / f"{source.name}-cur", workers=1, shards=2)
    out = tmp_path / "report"
    assert main(["stats", str(tmp_path / "got10k-cur"), str(tmp_path / "trackingnet-cur"), "--out", str(out),
                 "--montage", "2"]) == 0
    text = capsys.readouterr().out
    table_rows = [line for line in text.splitlines() if line.startswith(("(none)", " "))]
    assert sum(line.startswith("(none)") for line in table_rows) == 2  # one class row in each curation
    assert not [line for line in text.splitlines() if line[:1] == " " and line.split()[0].isdigit()], text
    for i, name in enumerate(("got10k-cur", "trackingnet-cur")):
        saved = json.loads((out / f"{i}-{name}" / "stats.json").read_text())
        assert saved["classes"][""]["name"] == "(none)" and saved["classes"][""]["records"] > 0
        assert "(none)" in (out / f"{i}-{name}" / "index.html").read_text()
        assert (out / f"{i}-{name}" / "classes.png").is_file()
    sources = {row["source"]: row for row in json.loads((out / "sources.json").read_text())}
    assert sources["trackingnet"]["classes"] == 0 and sources["got10k"]["classes"] == 2
