"""Curation on the synthetic VID: crops pixel-wise against an independent computation, LMDB round trips,
record counts equal to the XML, resume after interruption (kill -9 included), map growth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import cv2
import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.folder import CurationLayout
from siamfc.curate.manifest import load_manifest
from siamfc.curate.schema import decode_crop, decode_snippet_meta, encode_crop, parse_key
from siamfc.curate.shards import ShardReader, read_env, scan_shards
from siamfc.curate.sources.vid_classes import WNIDS

from cli_runner import run_cli
from conftest import all_values
from crop_reference import reference_crop, siamfc_sides
from source_checks import curate_quietly


def object_keys(objects) -> set[tuple[str, int, int]]:
    return {(o.snippet, o.track, o.frame) for o in objects}


def test_one_record_per_object_in_the_xml(synth_vid, curated_jpeg):
    _, objects = synth_vid
    m = load_manifest(curated_jpeg)
    got = {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])) for r in m.records}
    assert len(m) == len(objects) and got == object_keys(objects)
    assert {parse_key(k) for k in all_values(curated_jpeg)} == got
    assert m.complete
    by_class = Counter(WNIDS[c] for c in m.records["cls"])
    assert by_class == Counter(o.wnid for o in objects)
    flags = {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])): (r["occluded"], r["generated"])
             for r in m.records}
    assert all(flags[(o.snippet, o.track, o.frame)] == (o.occluded, o.generated) for o in objects)


@pytest.mark.slow
def test_raw_crops_equal_an_independent_computation(synth_vid, curated_raw):
    source, objects = synth_vid
    reader = ShardReader(curated_raw)
    frames: dict[tuple[str, int], np.ndarray] = {}
    for o in objects[::3]:
        key = (o.snippet, o.frame)
        if key not in frames:
            rel = o.snippet
            frames[key] = cv2.imread(str(source / "Data" / "VID" / rel / f"{o.frame:06d}.JPEG"))
        image = frames[key]
        cx, cy, _, _, s_z = siamfc_sides(*o.box)
        z, x = reader.crops(f"{o.snippet}/{o.track:04d}/{o.frame:06d}".encode())
        ref_x = reference_crop(image, cx, cy, s_z * 255 / 127, 255)
        ref_z = reference_crop(image, cx, cy, s_z, 127)
        assert x.shape == (255, 255, 3) and z.shape == (127, 127, 3)
        assert np.abs(x - ref_x).max() <= 2 and np.abs(x - ref_x).mean() < 0.3, o
        assert np.abs(z - ref_z).max() <= 2 and np.abs(z - ref_z).mean() < 0.3, o


def test_default_jpeg_crops_stay_within_jpeg_noise(synth_vid, curated_jpeg, curated_raw):
    m = load_manifest(curated_jpeg)
    assert set(m.records["reduction"]) > {1}, "the synthetic set must exercise reduced decoding"
    jpeg, raw = ShardReader(curated_jpeg), ShardReader(curated_raw)
    for i in range(0, len(m), 5):
        key = m.key(i)
        diff = np.abs(jpeg.search_crop(key).astype(float) - raw.search_crop(key))
        assert diff.mean() < 3.0, (key, diff.mean())


def test_manifest_figures_match_the_boxes(synth_vid, curated_raw):
    m = load_manifest(curated_raw)
    truth = {(o.snippet, o.track, o.frame): o for o in synth_vid[1]}
    for r in m.records[::7]:
        o = truth[(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"]))]
        assert (r["xmin"], r["ymin"], r["xmax"], r["ymax"]) == tuple(o.box)
        assert r["s_z"] == pytest.approx(siamfc_sides(*o.box)[4], rel=1e-5)
        assert (r["width"], r["height"]) == (o.width, o.height)
        assert 0 <= r["pad_z"] <= r["pad_x"] < 1


def test_lmdb_values_round_trip():
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (255, 255, 3), dtype=np.uint8)
    assert np.array_equal(decode_crop(encode_crop(crop, "raw")), crop)
    smooth = cv2.GaussianBlur(crop, (0, 0), 4)
    assert np.abs(decode_crop(encode_crop(smooth, "jpeg", 95)).astype(int) - smooth).mean() < 2
    with pytest.raises(ValueError, match="unknown crop tag"):
        decode_crop(b"X" + bytes(10))
    with pytest.raises(ValueError, match="raw crop has"):
        decode_crop(b"R" + bytes(10))


def test_snippet_meta_holds_the_manifest_rows(curated_jpeg):
    m = load_manifest(curated_jpeg, use_cache=False)
    metas = scan_shards(CurationLayout.open(curated_jpeg)).metas
    assert sum(len(meta.records) for meta in metas.values()) == len(m)
    assert sum(meta.frames for meta in metas.values()) == int(m.frames.sum())
    values = all_values(curated_jpeg)
    assert sorted(m.records["nbytes"].tolist()) == sorted(len(v) for v in values.values())
    some = next(iter(metas.values()))
    env = read_env(next(curated_jpeg.glob("shard-*.lmdb")))
    with env.begin(db=env.open_db(b"snippets", create=False)) as txn:
        key, value = next(iter(txn.cursor()))
        assert len(decode_snippet_meta(value).records) == len(metas[bytes(key).decode()].records)
    assert some.frames > 0


def test_resume_in_steps_equals_one_run(synth_vid, curated_jpeg, tmp_path):
    source = synth_vid[0]
    out = tmp_path / "steps"
    first = curate_quietly(source, out, max_snippets=2, shards=3)
    assert first.snippets_curated == 2
    assert not load_manifest(out).complete or len(load_manifest(out).snippets) == 2
    second = curate_quietly(source, out, shards=3)
    assert second.snippets_already_done == 2 and second.snippets_curated == second.snippets_total - 2
    assert all_values(out) == all_values(curated_jpeg)
    token = CurationLayout.open(out).fingerprint()
    again = curate_quietly(source, out, shards=3)
    assert again.snippets_curated == 0 and again.frames == 0
    assert CurationLayout.open(out).fingerprint() == token, "a finished curation must not be rewritten"


@pytest.mark.slow
def test_kill_9_then_rerun_ends_with_the_same_records(synth_vid, curated_jpeg, tmp_path):
    source, out = synth_vid[0], tmp_path / "killed"
    # A slowed-down curation (each snippet takes 1 s) so the kill lands mid-run, after some commits.
    script = textwrap.dedent(f"""
        import time
        import siamfc.curate.run as run
        from siamfc.curate.schema import CurationSettings
        original = run.curate_snippet
        def slow(*args):
            time.sleep(1.0)
            return original(*args)
        run.curate_snippet = slow
        run.curate(run.CurationConfig(source={str(source)!r}, out={str(out)!r}, progress=False,
                                      settings=CurationSettings(shards=3)))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if (out / "curation.json").exists() and len(scan_shards(CurationLayout.open(out)).metas) >= 2:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = set(scan_shards(CurationLayout.open(out)).metas)
    assert 2 <= len(done) < 6, "the kill must land mid-run"
    summary = curate_quietly(source, out, shards=3)
    assert summary.snippets_already_done == len(done)
    assert all_values(out) == all_values(curated_jpeg)
    assert len(load_manifest(out)) == len(load_manifest(curated_jpeg))


@pytest.mark.slow
def test_full_disk_stops_cleanly_and_resumes(synth_vid, curated_jpeg, tmp_path):
    source, out = synth_vid[0], tmp_path / "full"
    # RLIMIT_FSIZE makes every write past 400 kB fail, as a full disk does.
    prelude = textwrap.dedent("""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
    """)
    proc = run_cli("curate", source, out, "--no-progress", "--shards", "3", prelude=prelude, timeout=120)
    assert proc.returncode == 2
    assert "failed" in proc.stderr and "rerun the same command to resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    curate_quietly(source, out, shards=3)
    assert all_values(out) == all_values(curated_jpeg)


def test_map_grows_instead_of_failing(synth_vid, tmp_path):
    source, objects = synth_vid
    out = tmp_path / "tiny-map"
    curate_quietly(source, out, map_size=64 * 1024, shards=1)
    assert len(all_values(out)) == len(objects)


def test_resume_with_other_settings_is_refused(synth_vid, curated_jpeg):
    with pytest.raises(CurationError, match="quality: 90 on disk vs 70 asked"):
        curate_quietly(synth_vid[0], curated_jpeg, shards=3, quality=70)


def test_a_second_writer_is_refused(synth_vid, curated_jpeg):
    fd = CurationLayout.open(curated_jpeg).lock()
    try:
        with pytest.raises(CurationError, match="another siamfc curate is writing here"):
            curate_quietly(synth_vid[0], curated_jpeg, shards=3)
    finally:
        os.close(fd)


def test_filters_keep_what_they_say(synth_vid, tmp_path):
    source, objects = synth_vid
    wnid = Counter(o.wnid for o in objects).most_common(1)[0][0]
    out = tmp_path / "filtered"
    curate_quietly(source, out, classes=(wnid,), skip_generated=True)
    m = load_manifest(out)
    expected = {(o.snippet, o.track, o.frame) for o in objects if o.wnid == wnid and not o.generated}
    assert {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])) for r in m.records} == expected


def test_parallel_workers_write_the_same_bytes(synth_vid, curated_jpeg, tmp_path):
    out = tmp_path / "two-workers"
    curate_quietly(synth_vid[0], out, workers=2, shards=3)
    assert all_values(out) == all_values(curated_jpeg)


def test_val_split_only(synth_vid, tmp_path):
    source, objects = synth_vid
    out = tmp_path / "val"
    curate_quietly(source, out, splits=("val",))
    m = load_manifest(out)
    assert all(s.startswith("val/") for s in m.snippets)
    assert len(m) == sum(o.snippet.startswith("val/") for o in objects)
