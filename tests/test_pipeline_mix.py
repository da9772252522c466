"""Training from a mix of curations: share parsing, the share of pairs each curation gets, reproducibility and
sharding, per-curation frame gaps, still images, the unchanged single-curation stream, and `siamfc train` with
several ``--data``.

The curations are real LMDB curations of synthetic trees: ``curated_jpeg`` (3 shards), the same tree curated again
into 2 shards, another tree (other seed, fewer snippets) in 1 shard, a tree of one-frame snippets and a COCO tree
(still images).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import siamfc

from siamfc.curate.folder import CurationLayout
from siamfc.curate.manifest import Manifest, load_manifest
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import RECORD_DTYPE, CurationSettings
from siamfc.curate.shards import ShardReader
from siamfc.curate.synth import SynthConfig, generate, generate_format
from siamfc.model.checkpoint import load_checkpoint
from siamfc.model.train import train
from siamfc.model.train_config import TrainConfig
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.mix import CurationShare, as_shares, shares_from_json
from siamfc.pipeline.pairs import BLOCK, RecordFilter, build_index, draw_block, select_records
from siamfc.pipeline.sampler_config import SamplerConfig
from siamfc.tools.cli import main
from siamfc.tools.run_train import saved_run

from conftest import run_curation

NO_AUGMENT = dict(exemplar_stretch=0.0, search_stretch=0.0, max_translate=0)
KEYS = ("z", "x", "label", "weight", "target", "index", "records", "source")


@pytest.fixture(scope="module")
def twin(synth_vid, tmp_path_factory) -> Path:
    """The tree of ``curated_jpeg`` curated again, into 2 shards: the same keys in other shards."""
    return run_curation(synth_vid[0], tmp_path_factory.mktemp("mix") / "twin", shards=2)


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> Path:
    """Another synthetic tree (its own seed and sizes) in 1 shard."""
    root = tmp_path_factory.mktemp("mix") / "vid" / "ILSVRC2015"
    generate(root, SynthConfig(train_snippets=2, val_snippets=1, frames=12, seed=1))
    return run_curation(root, root.parent.parent / "other", shards=1)


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    """A synthetic COCO 2017 tree, curated: still images, every instance a track of one record."""
    root = tmp_path_factory.mktemp("mix") / "coco"
    generate_format(root, "coco")
    out = root.parent / "coco-crops"
    curate(CurationConfig(source=root, out=out, progress=False, settings=CurationSettings(shards=1, source="coco")))
    return out


@pytest.fixture(scope="module")
def stills(tmp_path_factory) -> Path:
    """VID snippets of one frame: every track is one record, but the curation is not one of still images."""
    root = tmp_path_factory.mktemp("mix") / "vid" / "ILSVRC2015"
    generate(root, SynthConfig(train_snippets=3, val_snippets=0, frames=1, seed=2))
    return run_curation(root, root.parent.parent / "stills", shards=1)


def drawn(ds: PairDataset, blocks: range, epoch: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(curation, exemplar manifest row, search manifest row) of every pair of ``blocks``, no crop decoded."""
    indices = [c.index for c in ds.curations]
    draws = [draw_block(indices, ds.weights, ds.config.seed, epoch, b, 0) for b in blocks]
    source, z, x = (np.concatenate(a) for a in zip(*[(d.source, d.z, d.x) for d in draws], strict=True))
    z_rows, x_rows = np.empty_like(z), np.empty_like(x)
    for k, index in enumerate(indices):
        mine = source == k
        z_rows[mine], x_rows[mine] = index.rows[z[mine]], index.rows[x[mine]]
    return source, z_rows, x_rows


# -- (e) the share spec ---------------------------------------------------------------------------------------------
def test_share_specs_parse_from_the_right() -> None:
    parsed = {text: CurationShare.parse(text) for text in
              ("vid", "vid:2", "vid:0.5:50", "runs/a:b", "x:y:3", "/d/run:v2:3:40", "vid:1e-3", "vid:2:x")}
    assert {t: (str(s.root), s.weight, s.max_gap) for t, s in parsed.items()} == {
        "vid": ("vid", 1.0, None), "vid:2": ("vid", 2.0, None), "vid:0.5:50": ("vid", 0.5, 50),
        "runs/a:b": ("runs/a:b", 1.0, None), "x:y:3": ("x:y", 3.0, None), "/d/run:v2:3:40": ("/d/run:v2", 3.0, 40),
        "vid:1e-3": ("vid", 0.001, None), "vid:2:x": ("vid:2:x", 1.0, None)}
    assert CurationShare.parse("c:1:50").gap(100) == 50 and CurationShare.parse("c").gap(100) == 100
    # config.json: objects, or a plain path in runs from before mixes
    for share in parsed.values():
        assert CurationShare.from_json(json.loads(json.dumps(share.to_json()))) == share
    assert shares_from_json("/runs/vid") == (CurationShare(Path("/runs/vid")),)
    assert as_shares("a") == as_shares(Path("a")) == as_shares([CurationShare(Path("a"))])


@pytest.mark.parametrize(("text", "says"), [
    ("vid:0", "weight must be a finite number above 0"), ("vid:-1", "weight"), ("vid:nan", "weight"),
    ("vid:inf", "weight"), ("vid:2:0", "max_gap"), ("vid:2:1.5", "max_gap must be an integer"),
    (":2", "no curation folder"), ("", "no curation folder")])
def test_bad_share_specs_are_named_in_one_line(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"curation '{text}'") as err:
        CurationShare.parse(text)
    assert says in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="CurationShare.weight"):
        CurationShare(Path("vid"), weight=0.0)
    with pytest.raises(ValueError, match="non-empty list"):
        shares_from_json([])


def test_the_train_command_names_a_bad_share(tmp_path, capsys) -> None:
    assert main(["train", "--data", "vid", "--data", "vid:-1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--data: curation 'vid:-1'" in err and "\n" not in err
    assert main(["train", "--data", "vid", "--val-data", "vid:1:0", "--out", str(tmp_path / "run")]) == 2
    assert "--val-data: curation 'vid:1:0'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# -- (a) each curation's share of the pairs -------------------------------------------------------------------------
def test_each_curation_gets_its_weight_share_of_pairs(curated_jpeg: Path, twin: Path, other: Path) -> None:
    """20 blocks (20,480 pairs). Each pair's curation is an independent draw, so curation k's count is
    Binomial(n, p_k): its share is allowed 4 standard deviations, sqrt(p (1 - p) / n) (0.012-0.014 here). A correct
    sampler misses that with probability ~6e-5 per curation (and the draw is seeded, so the test cannot flake);
    equal shares instead of these weights would miss by 0.083, 25 standard deviations."""
    shares = [CurationShare(curated_jpeg, 1.0), CurationShare(twin, 2.0), CurationShare(other, 1.0)]
    ds = PairDataset(shares)
    source, z_rows, x_rows = drawn(ds, range(20))
    n = len(source)
    assert n == 20 * BLOCK
    counts = Counter(source.tolist())
    for k, p in enumerate((0.25, 0.5, 0.25)):
        assert counts[k] / n == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n)), (k, counts)
    # each pair is a pair of its own curation: one track, another frame
    for k, share in enumerate(shares):
        r = load_manifest(share.root).records
        mine = source == k
        z, x = r[z_rows[mine]], r[x_rows[mine]]
        assert np.array_equal(z["snippet"], x["snippet"]) and np.array_equal(z["track"], x["track"])
        assert np.all(z["frame"] != x["frame"])
    # the weights are relative
    twice = PairDataset([CurationShare(s.root, 2 * s.weight) for s in shares])
    assert all(np.array_equal(a, b) for a, b in zip(drawn(twice, range(3)), drawn(ds, range(3)), strict=True))


# -- (b) reproducibility and sharding -------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_mix_is_reproducible_and_sharding_partitions_it(curated_jpeg: Path, other: Path) -> None:
    shares = [CurationShare(curated_jpeg), CurationShare(other, 1.0, 5)]
    config = SamplerConfig(pairs_per_epoch=24, flip=0.5, grayscale=0.3, color_jitter=0.1)
    single, fresh = PairDataset(shares, config), PairDataset(shares, config)
    for epoch in (0, 1):
        for i in (0, 5, 23, 1500):
            a, b = single.pair(i, epoch), fresh.pair(i, epoch)
            assert all(torch.equal(a[k], b[k]) for k in KEYS), (epoch, i)
    stream = {i: single.curation_sources(i, 1) for i in range(24)}
    assert {k for k, _, _ in stream.values()} == {0, 1}
    assert sum(single.curation_sources(i, 0) != stream[i] for i in range(24)) >= 18  # another epoch, other pairs
    seen = {}
    for rank in range(2):
        ds = PairDataset(shares, config, rank=rank, world_size=2)
        for worker in range(3):
            for i in ds.indices(worker, 3).tolist():
                assert i not in seen
                seen[i] = ds.curation_sources(i, 1)
    assert seen == stream
    # through spawned DataLoader workers: the items of one rank are the single process's
    ds = PairDataset(shares, config, rank=1, world_size=2)
    loader = PairLoader(ds, batch_size=4, num_workers=2, chunk_pairs=4)
    loader.set_epoch(1)
    single.set_epoch(1)
    expected = {int(s["index"]): s for s in single}
    items = [{k: b[k][j] for k in KEYS} for b in loader for j in range(len(b["index"]))]
    assert [int(s["index"]) for s in items] == list(range(1, 24, 2))
    assert all(all(torch.equal(s[k], expected[int(s["index"])][k]) for k in KEYS) for s in items)


@pytest.mark.parametrize("split", ["train", "val"])  # val: manifest rows that differ from index positions
def test_items_hold_the_crops_of_their_own_curation(curated_jpeg: Path, twin: Path, other: Path, split: str) -> None:
    shares = [CurationShare(curated_jpeg), CurationShare(twin), CurationShare(other, 2.0)]
    ds = PairDataset(shares, SamplerConfig(pairs_per_epoch=24, **NO_AUGMENT), splits=(split,))
    manifests = [load_manifest(s.root) for s in shares]
    readers = [ShardReader(s.root) for s in shares]
    sources = Counter()
    for s in ds:
        k = int(s["source"])
        sources[k] += 1
        z_row, x_row = s["records"].tolist()
        z_crop, _ = readers[k].crops(manifests[k].key(z_row))
        _, x_crop = readers[k].crops(manifests[k].key(x_row))
        assert np.array_equal(s["z"].numpy().transpose(1, 2, 0), z_crop)
        assert np.array_equal(s["x"].numpy().transpose(1, 2, 0), x_crop)
        assert ds.curation_sources(int(s["index"]))[0] == k
    assert set(sources) == {0, 1, 2}
    for share in shares:
        assert f"{share.root} (weight {share.weight:g}, max gap 100): {split}: " in ds.description


# -- (c) each curation's frame gap ----------------------------------------------------------------------------------
def test_each_curation_keeps_its_own_frame_gap(curated_jpeg: Path, twin: Path) -> None:
    near = PairDataset([CurationShare.parse(f"{curated_jpeg}:1:1"), CurationShare(twin)])
    far = PairDataset([CurationShare(curated_jpeg, 1.0, 100), CurationShare(twin)])
    frames = [load_manifest(root).records["frame"].astype(int) for root in (curated_jpeg, twin)]
    gaps = {}
    for name, ds in (("near", near), ("far", far)):
        source, z_rows, x_rows = drawn(ds, range(4))
        gaps[name] = (source, z_rows, x_rows)
        for k in (0, 1):
            mine = source == k
            gap = np.abs(frames[k][z_rows[mine]] - frames[k][x_rows[mine]])
            limit = 1 if name == "near" and k == 0 else 100
            assert gap.min() >= 1 and gap.max() <= limit, (name, k)
            assert limit == 1 or gap.max() > 10  # the wide gap is used
    (s_near, z_near, x_near), (s_far, z_far, x_far) = gaps["near"], gaps["far"]
    assert np.array_equal(s_near, s_far)  # the curation of each pair does not depend on the gaps
    twin_pairs = s_near == 1
    assert np.array_equal(z_near[twin_pairs], z_far[twin_pairs]) and np.array_equal(x_near[twin_pairs],
                                                                                     x_far[twin_pairs])
    assert np.mean(x_near[~twin_pairs] != x_far[~twin_pairs]) > 0.5  # the gap of 1 changes that curation's pairs
    assert "max gap 1)" in near.description and "max gap 100)" in near.description


# -- (d) one curation: the stream as it was before mixes ------------------------------------------------------------
# Recorded with the sampler as it was before mixes existed (commit 6951f96) on ``curated_jpeg``: manifest rows
# (exemplar, search) and target shifts of pairs 0..20 of epoch 0, seed 0; and rows of pairs 1020..1029 (across a
# block boundary) of epoch 2 with seed 3 and max_gap 5.
BEFORE_ROWS = [(38, 39), (24, 26), (37, 28), (30, 35), (30, 29), (130, 147), (14, 0), (112, 116), (24, 35), (34, 28),
               (112, 123), (136, 133), (128, 124), (4, 19), (139, 138), (89, 103), (47, 39), (109, 94), (42, 54),
               (76, 63), (139, 134)]
BEFORE_TARGETS = [(0, 4), (4, 4), (-1, 4), (-4, 1), (2, 0), (4, 3), (4, -4), (-2, -1), (-4, 1), (-1, 4), (1, 1),
                  (4, -4), (3, 1), (3, 0), (3, -2), (4, 4), (-3, 4), (1, -3), (0, -4), (4, -3), (4, -4)]
BEFORE_ROWS_SEED3 = [(124, 129), (32, 33), (131, 132), (32, 36), (128, 127), (54, 56), (138, 143), (116, 115),
                     (36, 37), (37, 33)]


def test_one_curation_gives_the_pairs_it_gave_before_mixes(curated_jpeg: Path) -> None:
    for data in (curated_jpeg, str(curated_jpeg), [CurationShare(curated_jpeg, 3.0)]):
        ds = PairDataset(data, SamplerConfig(pairs_per_epoch=21))
        items = [ds.pair(i, 0) for i in range(21)]
        assert [tuple(s["records"].tolist()) for s in items] == BEFORE_ROWS
        assert [tuple(int(v) for v in s["target"].tolist()) for s in items] == BEFORE_TARGETS
        assert all(int(s["source"]) == 0 for s in items)
    assert ds.description == "train: 150 exemplar records of 150 usable (188 in the curation), 7 tracks in 4 snippets"
    for data, max_gap in ((curated_jpeg, 5), ([CurationShare(curated_jpeg, 1.0, 5)], 100)):  # the share's gap wins
        ds = PairDataset(data, SamplerConfig(seed=3, max_gap=max_gap))
        assert [tuple(ds.pair(i, 2)["records"].tolist()) for i in range(1020, 1030)] == BEFORE_ROWS_SEED3


# -- still images ---------------------------------------------------------------------------------------------------
def hand_manifest(tracks: list[tuple[str, int, int]]) -> Manifest:
    """A manifest of one record per ``(snippet id, track, frame)`` (given in manifest order), boxes 51 px square,
    nothing padded."""
    snippets = sorted({s for s, _, _ in tracks})
    records = np.zeros(len(tracks), RECORD_DTYPE)
    records["snippet"] = [snippets.index(s) for s, _, _ in tracks]
    records["track"], records["frame"] = [t for _, t, _ in tracks], [f for _, _, f in tracks]
    records["xmin"], records["ymin"], records["xmax"], records["ymax"] = 10, 10, 60, 60
    return Manifest(records=records, snippets=np.array(snippets), frames=np.ones(len(snippets), np.int64),
                    complete=True)


def test_still_images_pair_a_record_with_itself() -> None:
    m = hand_manifest([("train/a", 0, 0), ("train/a", 1, 0), ("train/b", 0, 0), ("train/c", 3, 7),
                       ("train/e", 0, 0), ("train/e", 0, 1), ("val/d", 0, 0)])  # rows 4, 5: a track of two frames
    keep = select_records(m, RecordFilter(("train",), False, False, 10.0, 0.5, 1.0))
    assert build_index(m, keep, 100).n_tracks == 1  # video pairs: only e's track has two records
    index = build_index(m, keep, 100, same_frame=True)
    assert (index.n_tracks, index.n_snippets) == (5, 4)
    z, x = index.draw(np.random.default_rng(0).random((8000, 4)))
    z_rows, x_rows = index.rows[z], index.rows[x]
    one = z_rows < 4  # the one-record tracks
    assert np.array_equal(z_rows[one], x_rows[one])
    assert set(z_rows.tolist()) == {0, 1, 2, 3, 4, 5}  # never the val record
    assert 0 < np.mean(z_rows[~one] == x_rows[~one]) < 1  # a two-frame track pairs a record with itself or the other
    by_snippet = Counter(m.records["snippet"][z_rows].tolist())
    assert all(c / 8000 == pytest.approx(0.25, abs=4 * math.sqrt(0.25 * 0.75 / 8000)) for c in by_snippet.values())


def test_a_still_image_curation_in_a_mix(curated_jpeg: Path, coco: Path, stills: Path) -> None:
    with pytest.raises(ValueError, match=f"{stills}: no track of split.s. train has two usable records within"):
        PairDataset([CurationShare(curated_jpeg), CurationShare(stills)])  # a video curation needs two frames
    assert load_manifest(coco).still_images
    ds = PairDataset([CurationShare(curated_jpeg), CurationShare(coco)], SamplerConfig(pairs_per_epoch=40))
    h = (ds.z_region - 1) // 2
    from_stills = 0
    for i in range(40):
        s = ds.stored_pair(i)
        if int(s["source"]) == 1:
            from_stills += 1
            assert s["records"][0] == s["records"][1]
            assert torch.equal(s["z_stored"], s["x_stored"][127 - h:128 + h, 127 - h:128 + h])
        else:
            assert s["records"][0] != s["records"][1]
    assert 0 < from_stills < 40


# -- (f) `siamfc train` on a mix --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_command_on_a_mix_runs_and_resumes(curated_jpeg: Path, other: Path, tmp_path: Path, capsys) -> None:
    options = ["--epochs", "2", "--batch-size", "2", "--val-pairs", "2", "--pairs-per-epoch", "4", "--no-progress"]
    parts = tmp_path / "parts"
    command = ["train", "--data", str(curated_jpeg), "--data", f"{other}:2:5", "--val-data", f"{other}:1:3",
               "--out", str(parts), *options]
    assert main([*command, "--stop-after", "1"]) == 0
    stored = json.loads((parts / "config.json").read_text())
    ids = {root: CurationLayout.open(root).identity for root in (curated_jpeg, other)}
    assert stored["data"] == [
        {"root": str(curated_jpeg), "weight": 1.0, "max_gap": None, "identity": ids[curated_jpeg]},
        {"root": str(other), "weight": 2.0, "max_gap": 5, "identity": ids[other]}]
    assert stored["val_data"] == [{"root": str(other), "weight": 1.0, "max_gap": 3, "identity": ids[other]}]
    assert main(["train", "--out", str(parts), "--resume", "--no-progress"]) == 0

    config = TrainConfig(epochs=2, batch_size=2, val_pairs=2, progress=False, sampler=SamplerConfig(pairs_per_epoch=4))
    whole = train([CurationShare(curated_jpeg), CurationShare(other, 2.0, 5)], tmp_path / "whole", config,
                  val_data=CurationShare(other, 1.0, 3))
    a, b = load_checkpoint(tmp_path / "whole" / "checkpoint.pt"), load_checkpoint(parts / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2 and a["data"] == b["data"] == stored["data"]
    assert all(torch.equal(v, b["model"][k]) for k, v in a["model"].items())
    assert [e["val_loss"] for e in whole] == [e["val_loss"] for e in b["history"]["epochs"]]

    # curation folders may move between runs, their weights and gaps may not
    again = ["train", "--out", str(parts), "--resume", "--no-progress", "--data", str(curated_jpeg)]
    assert main([*again, "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{other} (curation {ids[other]}) had weight 2 and max gap 5 in the run, not weight 1 and max gap the " \
           "sampler's" in err and "\n" not in err.strip()
    assert main([*again, "--data", f"{other}:2:5"]) == 0

    # a run folder from before mixes: data and val_data were plain paths
    legacy = {**stored, "data": str(curated_jpeg), "val_data": str(other)}
    (parts / "config.json").write_text(json.dumps(legacy))
    saved = saved_run(parts)
    assert saved.data == (CurationShare(curated_jpeg),) and saved.val_data == (CurationShare(other),)


# -- (g) a resumed run finds its curations by identity; shares as the command line reads them -----------------------
OPTIONS = ["--epochs", "2", "--batch-size", "2", "--val-pairs", "2", "--pairs-per-epoch", "4", "--no-progress"]
TIMING = ("seconds", "pairs_per_s", "data_wait_share")


def log_rows(run: Path) -> list[dict[str, str]]:
    """``log.csv`` without its timing columns."""
    with (run / "log.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


@pytest.mark.slow
def test_a_resumed_run_finds_a_moved_curation_by_identity(curated_jpeg: Path, other: Path, twin: Path,
                                                           tmp_path: Path, capsys) -> None:
    a = tmp_path / "A"
    shutil.copytree(curated_jpeg, a)  # a copy is the same curation
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    # every training run in a process of its own: the weights are compared bit for bit, and this process's state
    # (torch threads, shard handles left by earlier tests) must not make one run differ from another
    for data, out, more in ((curated_jpeg, whole, ()), (a, parts, ("--stop-after", "1"))):
        done = siamfc("train", "--data", str(data), "--data", f"{other}:2", "--out", str(out), *OPTIONS, *more)
        assert done.returncode == 0, done.stderr
    a2 = tmp_path / "A2"
    a.rename(a2)
    capsys.readouterr()
    # not where the run recorded it: the error says how to give the new folder
    assert main(["train", "--resume", "--out", str(parts), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{a}: no such folder" in err and "give its folder with --data" in err and "\n" not in err
    # another curation where A was: refused, both identities named
    shutil.copytree(twin, a)
    ids = {p: CurationLayout.open(p).identity for p in (a, a2)}
    assert ids[a] != ids[a2]
    assert main(["train", "--resume", "--data", str(a), "--data", f"{other}:2", "--out", str(parts)]) == 2
    err = capsys.readouterr().err
    assert f"{a} holds curation {ids[a]}, but the run was trained on curation {ids[a2]} there" in err
    shutil.rmtree(a)
    # moved (and given in another order): the run continues on the same pairs, and its validation mix (the
    # training mix, as recorded) follows A to A2: the same log as the run that never moved
    done = siamfc("train", "--resume", "--data", f"{other}:2", "--data", str(a2), "--out", str(parts), "--no-progress")
    assert done.returncode == 0, done.stderr  # a process of its own, as a user runs it (this one holds A's shards)
    assert log_rows(parts) == log_rows(whole) and len(log_rows(parts)) == 3
    x, y = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(parts / "checkpoint.pt")
    assert all(torch.equal(v, y["model"][k]) for k, v in x["model"].items())
    stored = json.loads((parts / "config.json").read_text())  # the next --resume finds them without --data
    assert [d["root"] for d in stored["data"]] == [d["root"] for d in stored["val_data"]] == [str(a2), str(other)]


def test_a_curation_without_a_recorded_identity_gets_one_from_its_contents(curated_jpeg: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(curated_jpeg, old)
    settings = json.loads((old / "curation.json").read_text())
    recorded = settings.pop("identity")
    assert len(recorded) == 32 and not recorded.startswith("content-")  # made when the curation was created
    (old / "curation.json").write_text(json.dumps(settings))  # as curations before identities were
    derived = CurationLayout.open(old).identity
    assert derived.startswith("content-") and derived != recorded
    moved = tmp_path / "moved"
    old.rename(moved)
    assert CurationLayout.open(moved).identity == derived  # the contents, not the path
    # curating into it again records it first, so that snippets committed later do not change it
    assert CurationLayout.create(moved, CurationSettings.from_json(settings)).identity == derived
    assert json.loads((moved / "curation.json").read_text())["identity"] == derived
    fresh = CurationLayout.create(tmp_path / "new", CurationSettings())
    assert fresh.identity not in (derived, recorded)
    assert CurationLayout.open(tmp_path / "new").identity == fresh.identity


@pytest.mark.slow
def test_a_folder_named_like_a_share_is_taken_whole(curated_jpeg: Path, tmp_path: Path, capsys) -> None:
    named, run = tmp_path / "cur:2", tmp_path / "run"
    shutil.copytree(curated_jpeg, named)
    assert main(["train", "--data", str(named), "--out", str(run), *OPTIONS, "--epochs", "1"]) == 0
    assert [(d["root"], d["weight"]) for d in json.loads((run / "config.json").read_text())["data"]] == [
        (str(named), 1.0)]
    # --no-progress hides the progress bars only: the epoch lines and the line naming the weights stay
    out = capsys.readouterr().out
    assert "epoch 0 | val loss" in out and "epoch 1 | train loss" in out
    assert f"run {run}: 1 epochs done" in out and f"weights in {run / 'weights.pt'}" in out

    # both readings name a folder: the longer path is taken, and a warning says how to write the other
    cur = tmp_path / "cur"
    shutil.copytree(curated_jpeg, cur)
    assert main(["train", "--data", str(named), "--out", str(tmp_path / "r2"), "--val-split", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert (f"siamfc train: warning: curation '{named}': read as the folder {named}; the folder {cur} exists too: "
            f"write {cur}/:2 to mean it") in err
    with pytest.warns(UserWarning, match="exists too"):
        assert CurationShare.parse(str(named)) == CurationShare(named)
    assert CurationShare.parse(f"{cur}/:2") == CurationShare(cur, 2.0)
    assert CurationShare.parse(f"{named}:3:7") == CurationShare(named, 3.0, 7)
    # no reading names a folder: the error says how the text was read
    gone = tmp_path / "gone:2"
    assert main(["train", "--data", str(gone), "--out", str(tmp_path / "r3")]) == 2
    err = capsys.readouterr().err.strip()
    assert (f"--data: curation '{gone}' (PATH[:WEIGHT[:MAX_GAP]]): read as the folder {tmp_path / 'gone'} with "
            f"weight 2, but neither {tmp_path / 'gone'} nor {gone} exists") in err and "\n" not in err
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()
