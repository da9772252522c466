"""Faults that real dumps, disks and copies produce: each ends with the run going on (the skip reported with file
and reason) or with one clear line; afterwards every good object is stored exactly once, every damaged record is
named by --verify, nothing committed is lost, and no command dies of a signal."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from siamfc.curate.errors import CurationError
from siamfc.curate.folder import PLAN_FILE
from siamfc.curate.manifest import MANIFEST_FILE, load_manifest
from siamfc.curate.run import SKIPPED_FILE
from siamfc.curate.schema import name_text, parse_key
from siamfc.curate.shards import RecordDamaged, ShardReader, release_read_env
from siamfc.curate.synth import SynthConfig, generate
from siamfc.curate.verify import verify
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.sampler_config import SamplerConfig

from cli_runner import one_line_error, run_cli
from conftest import all_values
from source_checks import curate_quietly

SHARDS = 3
SMALL = SynthConfig(train_snippets=4, val_snippets=1, frames=8, sizes=((640, 360), (480, 360)))


def _keys(root: Path) -> set[tuple[str, int, int]]:
    m = load_manifest(root)
    return {(str(m.snippets[r["snippet"]]), int(r["track"]), int(r["frame"])) for r in m.records}


def _report(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / SKIPPED_FILE).read_text().splitlines()]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("faults") / "ILSVRC2015"
    return root, generate(root, SMALL)


@pytest.fixture(scope="module")
def clean(tree, tmp_path_factory) -> Path:
    """The undamaged curation of ``tree``: what every repaired or resumed curation must equal."""
    out = tmp_path_factory.mktemp("clean") / "cur"
    curate_quietly(tree[0], out, shards=SHARDS, workers=1)  # commits in snippet order: byte patches find one copy
    return out


@pytest.fixture
def copy(tree, tmp_path) -> Path:
    """A private copy of the synthetic tree to damage."""
    root = tmp_path / "ILSVRC2015"
    shutil.copytree(tree[0], root)
    return root


# ---------------------------------------------------------------------------------------------------- inputs


def test_symlinked_folders_are_followed_and_loops_reported(tree, clean, copy, tmp_path):
    """VID spread over disks: a group folder and a snippet folder are symlinks, on both the Annotations and the
    Data side; a symlink loop is passed over and named. Every object is curated, as from the plain tree."""
    elsewhere = tmp_path / "other-disk"
    elsewhere.mkdir()
    for side in ("Annotations", "Data"):
        group = copy / side / "VID" / "train" / "ILSVRC2015_VID_train_0001"
        shutil.move(group, elsewhere / f"{side}-group")
        group.symlink_to(elsewhere / f"{side}-group", target_is_directory=True)
        snippet = next(p for p in sorted((copy / side / "VID" / "train" / "ILSVRC2015_VID_train_0000").iterdir()))
        shutil.move(snippet, elsewhere / f"{side}-snippet")
        snippet.symlink_to(elsewhere / f"{side}-snippet", target_is_directory=True)
    loop = copy / "Annotations" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "loop"
    loop.symlink_to(loop.parent, target_is_directory=True)
    out = tmp_path / "cur"
    summary = curate_quietly(copy, out, shards=SHARDS)
    assert _keys(out) == {(o.snippet, o.track, o.frame) for o in tree[1]}
    assert all_values(out) == all_values(clean)
    assert any(str(loop) in line for line in summary.folders_passed_over), summary.folders_passed_over
    assert load_manifest(out).complete


def test_a_link_added_later_never_curates_a_folder_twice(tree, clean, tmp_path):
    """A symlink alias that sorts before the real folder (``0_latest -> ILSVRC2015_VID_train_0001``): the real
    path keeps its snippets and the link is the one named as passed over."""
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    source = tmp_path / "ILSVRC2015"
    shutil.copytree(tree[0], source, symlinks=True)
    for side in ("Annotations", "Data"):
        (source / side / "VID" / "train" / "0_latest").symlink_to("ILSVRC2015_VID_train_0001")
    summary = curate_quietly(source, out, shards=SHARDS)
    assert summary.snippets_curated == 0 and all_values(out) == all_values(clean)
    link = source / "Annotations" / "VID" / "train" / "0_latest"
    assert [line.split(": ")[0] for line in summary.folders_passed_over] == [str(link)]


def test_stray_files_are_reported_never_fatal(tree, clean, copy, tmp_path):
    snippet_dir = copy / "Annotations" / "VID" / tree[1][0].snippet
    shutil.copy(snippet_dir / "000003.xml", snippet_dir / "000003 (copy).xml")
    (snippet_dir / "notes.txt").write_text("annotator's notes")
    (snippet_dir / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    assert all_values(out) == all_values(clean)
    stray = [e for e in _report(out) if e["reason"] == "not_a_frame"]
    assert sorted(Path(e["detail"].split(": ")[0]).name for e in stray) == [".DS_Store", "000003 (copy).xml",
                                                                            "notes.txt"]
    assert all(e["snippet"] == tree[1][0].snippet and str(snippet_dir) in e["detail"] for e in stray)


def test_any_folder_name_works(tree, copy, tmp_path):
    """Spaces and non-ASCII characters in snippet folders: curated, keys round-trip, verified."""
    old = tree[1][0].snippet
    new = old.rsplit("/", 1)[0] + "/Schnee ☃ été 日本"
    for side in ("Annotations", "Data"):
        (copy / side / "VID" / old).rename(copy / side / "VID" / new)
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    expected = {(new if o.snippet == old else o.snippet, o.track, o.frame) for o in tree[1]}
    assert _keys(out) == expected
    reader = ShardReader(out)
    key = next(k for k in all_values(out) if parse_key(k)[0] == new)
    assert reader.crops(key)[1].shape == (255, 255, 3)
    assert verify(out, workers=1, progress=False).ok
    proc = run_cli("stats", str(out), "--verify", "--workers", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr


def _frame_with_objects(objects, k: int = 0) -> tuple[str, int, list]:
    frames = sorted({(o.snippet, o.frame) for o in objects})
    snippet, frame = frames[k * 7 % len(frames)]
    return snippet, frame, [o for o in objects if (o.snippet, o.frame) == (snippet, frame)]


def _jpeg(root: Path, snippet: str, frame: int) -> Path:
    return root / "Data" / "VID" / snippet / f"{frame:06d}.JPEG"


def _xml(root: Path, snippet: str, frame: int) -> Path:
    return root / "Annotations" / "VID" / snippet / f"{frame:06d}.xml"


def test_corrupt_but_decodable_jpeg_is_frame_corrupt_and_trailing_bytes_are_fine(tree, clean, copy, tmp_path):
    cut_snippet, cut_frame, cut_objects = _frame_with_objects(tree[1], 1)
    data = _jpeg(copy, cut_snippet, cut_frame).read_bytes()
    _jpeg(copy, cut_snippet, cut_frame).write_bytes(data[: len(data) // 2] + b"\xff\xd9")  # cut short, EOI appended
    tail_snippet, tail_frame, tail_objects = _frame_with_objects(tree[1], 2)
    path = _jpeg(copy, tail_snippet, tail_frame)
    path.write_bytes(path.read_bytes() + os.urandom(4096))  # a valid JPEG with trailing bytes
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    report = _report(out)
    corrupt = {(e["snippet"], e["frame"], e["track"]) for e in report if e["reason"] == "frame_corrupt"}
    assert corrupt == {(o.snippet, o.frame, o.track) for o in cut_objects}
    assert all(str(_jpeg(copy, cut_snippet, cut_frame)) in e["detail"] for e in report)
    lost = {(o.snippet, o.track, o.frame) for o in cut_objects}
    assert _keys(out) == {(o.snippet, o.track, o.frame) for o in tree[1]} - lost
    clean_values = all_values(clean)
    for k, v in all_values(out).items():  # the trailing-bytes frame's crops are exactly the clean ones
        assert v == clean_values[k]


def test_box_coordinates_as_floats(tree, clean, copy, tmp_path):
    """Whole-number floats are the integers; fractional ones are kept; NaN and inf reject the object."""
    (s1, f1, o1), (s2, f2, o2), (s3, f3, o3) = (_frame_with_objects(tree[1], k) for k in (3, 4, 5))
    for path, fn in ((_xml(copy, s1, f1), lambda m: f"<xmin>{m.group(1)}.0</xmin>"),
                     (_xml(copy, s2, f2), lambda m: f"<xmin>{m.group(1)}.5</xmin>"),
                     (_xml(copy, s3, f3), lambda m: "<xmin>nan</xmin>")):
        text = path.read_text()
        path.write_text(re.sub(r"<xmin>(\d+)</xmin>", fn, text, count=1))
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    m, c = load_manifest(out), load_manifest(clean)

    def row(manifest, snippet, track, frame):
        r = manifest.records
        sel = (manifest.snippets[r["snippet"]] == snippet) & (r["track"] == track) & (r["frame"] == frame)
        assert sel.sum() == 1
        return r[sel][0]

    whole, frac = o1[0], o2[0]
    assert row(m, whole.snippet, whole.track, whole.frame)["crc"] == row(c, whole.snippet, whole.track, whole.frame)[
        "crc"]
    assert row(m, frac.snippet, frac.track, frac.frame)["xmin"] == row(c, frac.snippet, frac.track, frac.frame)[
        "xmin"] + 0.5
    rejected = [e for e in _report(out) if e["reason"] == "object_malformed"]
    assert [(e["snippet"], e["frame"], e["track"]) for e in rejected] == [(s3, f3, o3[0].track)]
    assert "nan" in rejected[0]["detail"] and str(_xml(copy, s3, f3)) in rejected[0]["detail"]


# --------------------------------------------------------------------------------------------------- storage


FILL_DISK = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


@pytest.mark.parametrize("limit", [5_000, 8_192, 20_000, 150_000])
def test_full_disk_while_a_shard_is_created(tree, clean, tmp_path, limit):
    """Writes fail past ``limit`` bytes per file (RLIMIT_FSIZE, as a full disk): the run stops with one line, a
    half-made shard never blocks stats or the rerun, and the rerun ends with the clean curation."""
    out = tmp_path / "cur"
    proc = run_cli("curate", str(tree[0]), str(out), "--no-progress", "--shards", str(SHARDS),
                  prelude=FILL_DISK.format(limit=limit))
    one_line_error(proc, "rerun the same command to resume")
    stats = run_cli("stats", str(out))  # a half-made shard is named (it holds nothing), the rest reported
    # exit 1 exactly when a shard is reported damaged, and then only as the unfinished one
    damaged = [line for line in stats.stdout.splitlines() if "DAMAGED" in line]
    assert stats.returncode == (1 if damaged else 0) and "Traceback" not in stats.stderr, (stats.stdout, stats.stderr)
    assert all(re.search(r"shard-00\d\.lmdb: unfinished", line) for line in damaged), stats.stdout
    curate_quietly(tree[0], out, shards=SHARDS)  # the rerun replaces it without --repair: nothing in it could be read
    assert all_values(out) == all_values(clean)
    assert verify(out, workers=1, progress=False).ok


def test_memory_limit_is_one_line(tree, tmp_path):
    """An address-space limit below the shard map: LMDB cannot map it, and says so in one line."""
    out = tmp_path / "cur"
    prelude = textwrap.dedent("""
        import resource
        import siamfc.tools.cli as cli
        cli.build_parser()  # import everything first: the limit is for the curation's own allocations
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + (400 << 20), resource.RLIM_INFINITY))
    """)
    proc = run_cli("curate", str(tree[0]), str(out), "--no-progress", "--shards", "1", "--workers", "1",
                   prelude=prelude)
    one_line_error(proc, "shard-000.lmdb", "memory")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 200 KB tmpfs: a real full disk (the memory-mapped pages of a full tmpfs raise SIGBUS)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_really_full_disk_never_kills_with_a_signal(tree, clean, tiny_disk, tmp_path):
    out = tiny_disk / "cur"
    proc = run_cli("curate", str(tree[0]), str(out), "--no-progress", "--shards", str(SHARDS))
    one_line_error(proc, "the disk is full")
    stats = run_cli("stats", str(out))
    damaged = [line for line in stats.stdout.splitlines() if "DAMAGED" in line]  # exit 1 exactly when one is named
    assert stats.returncode == (1 if damaged else 0) and "Traceback" not in stats.stderr, (stats.stdout, stats.stderr)
    moved = tmp_path / "cur"
    shutil.copytree(out, moved)
    curate_quietly(tree[0], moved, shards=SHARDS)
    assert all_values(moved) == all_values(clean)


def _damaged_copy(clean: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the clean curation whose largest shard's data.mdb is cut to half (an interrupted copy)."""
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    data = max(out.glob("shard-*.lmdb/data.mdb"), key=lambda p: p.stat().st_size)
    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size // 2)
    return out, data.parent


def test_truncated_shard_is_named_and_the_rest_stays_usable(tree, clean, tmp_path):
    out, shard = _damaged_copy(clean, tmp_path)
    stats = run_cli("stats", str(out))
    assert stats.returncode == 1 and "Traceback" not in stats.stderr
    assert f"DAMAGED {shard}: truncated" in stats.stdout
    proc = run_cli("stats", str(out), "--verify", "--workers", "2", "--no-progress")
    assert proc.returncode == 1 and "shard_unreadable" in proc.stdout and str(shard) in proc.stdout
    report = verify(out, workers=1, progress=False)
    assert [(p.key, p.reason) for p in report.problems] == [(str(shard), "shard_unreadable")]
    intact = load_manifest(out, intact_only=True)
    assert 0 < len(intact) < len(load_manifest(clean)) and not intact.complete
    with pytest.raises(CurationError, match=re.escape(str(shard))):
        load_manifest(out)
    with pytest.raises(CurationError, match="truncated"):
        PairDataset(out, SamplerConfig(pairs_per_epoch=8))
    with pytest.warns(UserWarning, match="intact shards only"):
        dataset = PairDataset(out, SamplerConfig(pairs_per_epoch=8), intact_only=True)
    assert all(dataset.pair(i)["x"].shape == (3, 255, 255) for i in range(8))
    with pytest.raises(CurationError, match="--repair"):
        curate_quietly(tree[0], out, shards=SHARDS)
    one_line_error(run_cli("curate", str(tree[0]), str(out), "--no-progress", "--shards", str(SHARDS)),
                    str(shard), "--repair")
    untouched = {p.name: p.read_bytes() for p in out.glob("shard-*.lmdb/data.mdb") if p.parent != shard}
    summary = curate_quietly(tree[0], out, repair=True, shards=SHARDS)
    assert len(summary.shards_set_aside) == 1 and summary.snippets_curated > 0
    assert Path(summary.shards_set_aside[0]).exists(), "the damaged shard is kept, renamed"
    assert all_values(out) == all_values(clean)
    assert untouched == {p.name: p.read_bytes() for p in out.glob("shard-*.lmdb/data.mdb") if p.parent != shard}
    assert verify(out, workers=1, progress=False).ok and load_manifest(out).complete


def _overwrite_main_root(data: Path, fill: int) -> None:
    """Fill the page holding the root of the shard's main B-tree (from the current meta page) with ``fill``."""
    d = bytearray(data.read_bytes())
    metas = [struct.unpack_from("<QQ", d, off + 136) + struct.unpack_from("<Q", d, off + 128) for off in (0, 4096)]
    _, _, root = max(metas, key=lambda m: m[1])  # (last page, txnid, main root): the newest meta is current
    d[root * 4096:(root + 1) * 4096] = bytes([fill]) * 4096
    data.write_bytes(bytes(d))


@pytest.mark.parametrize("damage, cause", [
    ("zeroed header", "not an LMDB file"),
    ("corrupted tree page", "damaged B-tree: page"),
    ("dangling page number", "damaged B-tree: page"),
])
def test_corrupted_shard_files_are_named_and_repaired(tree, clean, tmp_path, damage, cause):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    data = max(out.glob("shard-*.lmdb/data.mdb"), key=lambda p: p.stat().st_size)
    if damage == "zeroed header":
        with open(data, "r+b") as f:
            f.write(bytes(8192))
    else:
        _overwrite_main_root(data, 0x5A if damage == "corrupted tree page" else 0x01)
    stats = run_cli("stats", str(out))
    assert stats.returncode == 1 and f"DAMAGED {data.parent}: " in stats.stdout and cause in stats.stdout
    report = verify(out, workers=1, progress=False)
    assert [(p.key, p.reason) for p in report.problems] == [(str(data.parent), "shard_unreadable")]
    assert cause in report.problems[0].detail
    curate_quietly(tree[0], out, repair=True, shards=SHARDS)
    assert all_values(out) == all_values(clean) and verify(out, workers=1, progress=False).ok


def _patch_every_copy(out: Path, snippet: str, needle: bytes, patch) -> None:  # noqa: ANN001
    """In the data file of the shard holding ``snippet``, call ``patch(data, at)`` at every copy of ``needle`` (freed
    pages keep old copies); it returns whether it changed that copy, and at least one must change."""
    shard = ShardReader(out).layout.shard_for(snippet)
    release_read_env(out / f"shard-{shard:03d}.lmdb")
    data = out / f"shard-{shard:03d}.lmdb" / "data.mdb"
    d = bytearray(data.read_bytes())
    at, patched = d.find(needle), 0
    while at >= 0:
        patched += patch(d, at)
        at = d.find(needle, at + 1)
    assert patched
    data.write_bytes(bytes(d))


def _flip_big_value_size(out: Path) -> None:
    """Flip bit 20 of the stored size of one crop in its B-tree node (every copy of the node, as freed pages keep
    old ones): the value then claims to end 1 MiB further, beyond the end of the file."""
    key = sorted(all_values(out))[0]

    def flip(d: bytearray, at: int) -> bool:
        lo, hi, flags, ksize = struct.unpack_from("<HHHH", d, at - 8)
        if ksize == len(key) and flags & 0x01:  # the node of this key, holding a large value (F_BIGDATA)
            d[at - 6] ^= 0x10
            return True
        return False

    _patch_every_copy(out, parse_key(key)[0], key, flip)


def _swap_first_two_shards(out: Path) -> None:
    a, b = out / "shard-000.lmdb", out / "shard-001.lmdb"
    a.rename(out / "tmp")
    b.rename(a)
    (out / "tmp").rename(b)


def _flip_a_snippet_key(out: Path) -> None:
    snippet = sorted(_snippet_values(out))[0]
    key = snippet.encode()

    def flip(d: bytearray, at: int) -> bool:
        d[at + len(key) - 1] ^= 0x02
        return True

    _patch_every_copy(out, snippet, key + b"SM3", flip)  # the snippet record's key, followed by its value


@pytest.mark.slow
@pytest.mark.parametrize("damage, problem", [
    ("value size beyond the file", "damaged B-tree: a value in page"),
    ("snippet key flipped", "stored under this key"),
    ("shards swapped", "wrong_shard"),
])
def test_structural_damage_is_found_never_crashes_and_repair_rebuilds(tree, clean, tmp_path, damage, problem):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    if damage == "value size beyond the file":
        _flip_big_value_size(out)
    elif damage == "snippet key flipped":
        _flip_a_snippet_key(out)
    else:
        _swap_first_two_shards(out)
    proc = run_cli("stats", str(out), "--verify", "--workers", "1", "--no-progress")
    assert proc.returncode == 1 and problem in proc.stdout and "Traceback" not in proc.stderr, proc.stdout
    train = run_cli("train", "--data", str(out), "--out", str(tmp_path / "run"), "--epochs", "1", "--pairs-per-epoch",
                 "64", "--val-pairs", "0", "--no-progress")
    assert train.returncode in (0, 2) and "Traceback" not in train.stderr, train.stderr  # refused, or trained on
    summary = curate_quietly(tree[0], out, repair=True, shards=SHARDS)
    assert summary.shards_set_aside
    assert all_values(out) == all_values(clean) and verify(out, workers=1, progress=False).ok
    assert load_manifest(out).complete and np.array_equal(load_manifest(out).records, load_manifest(clean).records)


def test_numbers_out_of_range_and_duplicate_frame_files_are_reported(tree, clean, copy, tmp_path):
    (s1, f1, o1), (s2, f2, o2) = (_frame_with_objects(tree[1], k) for k in (1, 2))
    for path, pattern, value in ((_xml(copy, s1, f1), r"<trackid>\d+</trackid>", "<trackid>1e10</trackid>"),
                                 (_xml(copy, s2, f2), r"<xmin>\d+</xmin>", "<xmin>3_87</xmin>")):
        path.write_text(re.sub(pattern, value, path.read_text(), count=1))
    flagged = _xml(copy, *_frame_with_objects(tree[1], 3)[:2])
    flagged.write_text(re.sub(r"</trackid>", "</trackid><occluded>300</occluded>", flagged.read_text(), count=1))
    duplicate = _xml(copy, s1, 1).with_name("1.xml")
    shutil.copy(_xml(copy, s1, 1), duplicate)
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    report = _report(out)
    malformed = {(e["snippet"], e["frame"]) for e in report if e["reason"] == "object_malformed"}
    assert malformed == {(s1, f1), (s2, f2), tuple(_frame_with_objects(tree[1], 3)[:2])}
    assert [e["detail"].split(": ")[0] for e in report if e["reason"] == "not_a_frame"] == [str(duplicate)]
    m = load_manifest(out)
    keys = [m.key(i) for i in range(len(m))]
    assert len(keys) == len(set(keys)) and verify(out, workers=1, progress=False).ok


@pytest.mark.slow
def test_train_refuses_a_damaged_curation_in_one_line_or_trains_on_the_intact_shards(clean, tmp_path):
    out, shard = _damaged_copy(clean, tmp_path)
    run = ["train", "--data", str(out), "--epochs", "1", "--pairs-per-epoch", "16", "--val-pairs", "0",
           "--no-progress"]
    one_line_error(run_cli(*run, "--out", str(tmp_path / "run")), str(shard), "truncated", "--intact-only")
    proc = run_cli(*run, "--out", str(tmp_path / "run2"), "--intact-only")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "intact shards only" in proc.stderr and (tmp_path / "run2" / "weights.pt").stat().st_size > 0


def _flip(path: Path, needle: bytes, offset: int) -> None:
    """Flip the bits of one byte ``offset`` bytes into the first occurrence of ``needle`` in ``path``."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0 and data.find(needle, at + 1) < 0
    data[at + offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_a_crop_is_named_by_verify_and_by_readers(clean, tmp_path):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    values = all_values(out)
    key = sorted(values)[len(values) // 2]
    value = values[key]
    shard = ShardReader(out).layout.shard_for(parse_key(key)[0])
    _flip(out / f"shard-{shard:03d}.lmdb" / "data.mdb", value[len(value) // 2: len(value) // 2 + 64], 10)
    release_read_env(out / f"shard-{shard:03d}.lmdb")
    report = verify(out, workers=2, progress=False)
    assert [(p.key, p.shard, p.reason) for p in report.problems] == [(name_text(key), shard, "checksum_mismatch")]
    proc = run_cli("stats", str(out), "--verify", "--workers", "1", "--no-progress")
    assert proc.returncode == 1 and name_text(key) in proc.stdout and "checksum_mismatch" in proc.stdout
    m = load_manifest(out)
    row = m.records[[m.key(i) for i in range(len(m))].index(key)]
    with pytest.raises(RecordDamaged, match=re.escape(name_text(key))):
        ShardReader(out).get_in(shard, key, crc=int(row["crc"]))
    dataset = PairDataset(out, SamplerConfig(pairs_per_epoch=20_000))
    i = next(i for i in range(20_000) if key in (dataset.sources(i)[0][1], dataset.sources(i)[1][1]))
    with pytest.raises(RecordDamaged, match=re.escape(name_text(key))):
        dataset.pair(i)


def test_a_flipped_byte_in_a_snippet_record_is_redone(tree, clean, tmp_path):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    snippet = sorted(load_manifest(out).snippets.tolist())[1]
    shard = ShardReader(out).layout.shard_for(snippet)
    data = out / f"shard-{shard:03d}.lmdb" / "data.mdb"
    meta = {k: v for k, v in _snippet_values(out).items()}[snippet]
    _flip(data, meta[-200:], 100)  # inside the manifest rows
    release_read_env(data.parent)
    report = verify(out, workers=1, progress=False)
    undecodable = [p for p in report.problems if p.reason == "meta_undecodable"]
    assert [p.key for p in undecodable] == [snippet] and "checksum" in undecodable[0].detail
    orphans = {p.key for p in report.problems if p.reason == "orphan"}  # its crops have lost their rows
    assert orphans == {name_text(k) for k in all_values(out) if parse_key(k)[0] == snippet}
    assert len(report.problems) == 1 + len(orphans)
    assert snippet not in load_manifest(out, intact_only=True).snippets
    summary = curate_quietly(tree[0], out, shards=SHARDS)
    assert summary.snippets_curated == 1 and summary.snippets_redone == 1
    assert all_values(out) == all_values(clean) and verify(out, workers=1, progress=False).ok


def _snippet_values(root: Path) -> dict[str, bytes]:
    from siamfc.curate.folder import CurationLayout
    from siamfc.curate.shards import snippet_values

    layout = CurationLayout.open(root)
    return {s: bytes(v) for i in layout.existing_shards() for s, v in snippet_values(layout, i)}


@pytest.fixture(scope="module")
def with_skips(tree, tmp_path_factory) -> tuple[Path, Path]:
    """(tree, curation) of a copy of the tree with one unreadable frame: a non-empty skip report."""
    root = tmp_path_factory.mktemp("skips") / "ILSVRC2015"
    shutil.copytree(tree[0], root)
    snippet, frame, _ = _frame_with_objects(tree[1], 3)
    _jpeg(root, snippet, frame).write_bytes(b"not a jpeg")
    out = tmp_path_factory.mktemp("skips-out") / "cur"
    curate_quietly(root, out, shards=SHARDS)
    assert len(_report(out)) > 0
    return root, out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_damaged_derived_files_are_rebuilt(with_skips, tmp_path, damage):
    source, clean = with_skips
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    load_manifest(out)  # make sure the cache exists
    for name in (MANIFEST_FILE, PLAN_FILE, SKIPPED_FILE):
        path = out / name
        data = path.read_bytes()
        path.write_bytes({"garbage": os.urandom(len(data)), "truncated": data[: len(data) // 2], "empty": b""}[damage])
    m = load_manifest(out)
    assert np.array_equal(m.records, load_manifest(clean).records)
    stats = run_cli("stats", str(out))
    assert stats.returncode == 0 and "Traceback" not in stats.stderr, stats.stderr
    summary = curate_quietly(source, out, shards=SHARDS)
    assert summary.snippets_curated == 0
    assert load_manifest(out).complete
    assert _report(out) == _report(clean)
    assert json.loads((out / PLAN_FILE).read_text()) == json.loads((clean / PLAN_FILE).read_text())


def test_unreadable_settings_are_one_line(clean, tmp_path):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    (out / "curation.json").write_text("{not json")
    one_line_error(run_cli("stats", str(out)), str(out / "curation.json"), "unreadable settings")


def test_deleting_lock_files_never_lets_a_second_writer_in(tree, clean, tmp_path):
    out = tmp_path / "cur"
    shutil.copytree(clean, out)
    layout = ShardReader(out).layout
    fd = layout.lock()
    try:
        for stale in [out / ".lock", *out.glob("shard-*.lmdb/lock.mdb")]:
            stale.unlink(missing_ok=True)
        with pytest.raises(CurationError, match="another siamfc curate is writing here"):
            curate_quietly(tree[0], out, shards=SHARDS)
    finally:
        os.close(fd)
    assert curate_quietly(tree[0], out, shards=SHARDS).snippets_curated == 0


# ------------------------------------------------------------------------------------------- redoing changes


def test_refresh_redoes_exactly_the_snippets_whose_inputs_changed(tree, clean, copy, tmp_path):
    snippet, frame, objects = _frame_with_objects(tree[1], 6)
    good = _jpeg(copy, snippet, frame).read_bytes()
    _jpeg(copy, snippet, frame).write_bytes(good[:1000])  # a bad frame
    out = tmp_path / "cur"
    curate_quietly(copy, out, shards=SHARDS)
    assert {(e["snippet"], e["frame"]) for e in _report(out)} == {(snippet, frame)}
    before = {p: p.stat().st_mtime_ns for p in out.glob("shard-*.lmdb/data.mdb")}
    _jpeg(copy, snippet, frame).write_bytes(good)  # the user replaces it
    assert curate_quietly(copy, out, shards=SHARDS).snippets_curated == 0, "a plain rerun only resumes"
    assert before == {p: p.stat().st_mtime_ns for p in out.glob("shard-*.lmdb/data.mdb")}
    summary = curate_quietly(copy, out, refresh=True, shards=SHARDS)
    assert (summary.snippets_curated, summary.snippets_changed, summary.snippets_redone) == (1, 1, 1)
    assert "1 redone, 1 of them changed inputs" in "\n".join(summary.lines())
    assert all_values(out) == all_values(clean) and _report(out) == []
    xml = _xml(copy, *_frame_with_objects(tree[1], 0)[:2])
    xml.write_text(re.sub(r"<trackid>(\d+)</trackid>", "<trackid>77</trackid>", xml.read_text(), count=1))
    assert curate_quietly(copy, out, refresh=True, shards=SHARDS).snippets_changed == 1
    assert any(t == 77 for _, t, _ in _keys(out))
    assert verify(out, workers=1, progress=False).ok


def test_a_resumed_curation_has_the_same_content_digest(tree, clean, tmp_path):
    out = tmp_path / "cur"
    curate_quietly(tree[0], out, max_snippets=2, shards=SHARDS)
    curate_quietly(tree[0], out, shards=SHARDS)
    a, b = verify(out, workers=1, progress=False), verify(clean, workers=1, progress=False)
    assert a.ok and b.ok and a.digest == b.digest and len(a.digest) == 64
    assert (out / "shard-000.lmdb" / "data.mdb").read_bytes() != b"" and a.digest in "\n".join(a.lines())


# ------------------------------------------------------------------------------------------------- options


@pytest.mark.parametrize("option, value, needle", [
    ("--quality", "101", "quality must be a whole number in 0..100"),
    ("--quality", "-1", "quality must be"),
    ("--max-snippets", "0", "max_snippets must be at least 1"),
    ("--shards", "0", "shards must be"),
    ("--workers", "0", "workers must be at least 1"),
])
def test_bad_curation_options_are_one_line(tree, tmp_path, option, value, needle):
    proc = run_cli("curate", str(tree[0]), str(tmp_path / "out"), "--no-progress", option, value)
    one_line_error(proc, needle)
    assert not (tmp_path / "out").exists(), "nothing is written for a refused run"


def test_output_paths_that_cannot_be_curation_folders(tree, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    one_line_error(run_cli("curate", str(tree[0]), str(a_file), "--no-progress"), str(a_file), "not a folder")
    one_line_error(run_cli("curate", str(tree[0]), str(a_file / "out"), "--no-progress"), str(a_file))
