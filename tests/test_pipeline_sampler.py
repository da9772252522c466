"""The pair stream on a real (synthetic) curation: reproducibility, sharding over ranks and DataLoader workers,
pairs from one track within the gap, filters, and what the loader hands out."""

from __future__ import annotations

import gc
import math
import os
import pickle
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from siamfc.curate.manifest import load_manifest
from siamfc.curate.schema import decode_crop
from siamfc.curate.shards import ShardReader
from siamfc.pipeline import loader as loader_module
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.loader import FILLED, FREE, HELD, ChunkSlots, PairLoader, batch_layout
from siamfc.pipeline.ranks import DistInfo, resolve_rank
from siamfc.pipeline.sampler_config import SamplerConfig

NO_AUGMENT = dict(exemplar_stretch=0.0, search_stretch=0.0, max_translate=0)
KEYS = ("z", "x", "label", "weight", "target", "index", "records", "source")


def same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in KEYS)


def unbatch(batches: list[dict]) -> dict[int, dict]:
    """index -> sample dict, from loader batches."""
    out = {}
    for b in batches:
        for j, i in enumerate(b["index"].tolist()):
            assert i not in out, f"pair {i} yielded twice"
            out[i] = {k: b[k][j] for k in KEYS}
    return out


@pytest.fixture(scope="module")
def root(curated_jpeg: Path) -> Path:
    return curated_jpeg


def test_reproducible_for_a_seed_and_changed_by_epoch_and_seed(root: Path) -> None:
    config = SamplerConfig(pairs_per_epoch=24, flip=0.5, grayscale=0.3, color_jitter=0.1)
    a, b = PairDataset(root, config), PairDataset(root, config)
    first = list(a)
    assert len(first) == 24 and all(same(s, t) for s, t in zip(first, b, strict=True))
    b.set_epoch(1)
    moved = [s["records"].tolist() != t["records"].tolist() for s, t in zip(first, b, strict=True)]
    assert sum(moved) >= 18
    other = PairDataset(root, SamplerConfig(pairs_per_epoch=24, seed=1, flip=0.5, grayscale=0.3, color_jitter=0.1))
    assert sum(s["records"].tolist() != t["records"].tolist() for s, t in zip(first, other, strict=True)) >= 18
    b.set_epoch(0)
    assert all(same(s, t) for s, t in zip(first, b, strict=True))


@pytest.mark.slow
def test_two_ranks_by_two_workers_partition_the_single_process_stream_every_epoch(root: Path) -> None:
    config = SamplerConfig(pairs_per_epoch=30, flip=0.5)
    single = PairDataset(root, config)
    streams = []
    for epoch in (0, 1):
        single.set_epoch(epoch)
        streams.append({int(s["index"]): s for s in single})
        assert sorted(streams[-1]) == list(range(30))
    seen: list[dict[int, dict]] = [{}, {}]
    for rank in range(2):
        ds = PairDataset(root, config, rank=rank, world_size=2)
        assert len(ds) == 15
        assert same(next(iter(ds)), streams[0][rank])  # read in the parent first: its LMDB handles are open
        loader = PairLoader(ds, batch_size=4, num_workers=2)
        for epoch in (0, 1):  # the same persistent workers follow set_epoch
            ds.set_epoch(epoch)
            part = unbatch(list(loader))
            assert len(part) == 15 and not set(part) & set(seen[epoch])
            seen[epoch].update(part)
        worker_parts = [set(ds.indices(w, 2).tolist()) for w in range(2)]
        assert not worker_parts[0] & worker_parts[1] and worker_parts[0] | worker_parts[1] == set(part)
    for epoch in (0, 1):
        assert sorted(seen[epoch]) == list(range(30))
        assert all(same(seen[epoch][i], streams[epoch][i]) for i in range(30))
    assert any(streams[0][i]["records"].tolist() != streams[1][i]["records"].tolist() for i in range(30))


def test_forked_child_reads_with_its_own_lmdb_handles(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=4))
    sources = [src for i in range(4) for src in ds.sources(i)]
    crops = ds.curations[0].crops
    values = [crops.get_in(*src) for src in sources]  # the parent's handles are open
    pid = os.fork()
    if pid == 0:  # no cv2 here: a forked child must not touch OpenCV's inherited thread pool
        try:
            ok = [crops.get_in(*src) for src in sources] == values
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [crops.get_in(*src) for src in sources] == values  # the parent's handles still work


def test_pickled_dataset_gets_a_private_epoch(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=6))
    ds.set_epoch(2)
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.epoch == 2 and all(same(a, b) for a, b in zip(ds, copy, strict=True))
    ds.set_epoch(3)
    assert copy.epoch == 2


def test_uneven_split_keeps_ranks_in_step_with_fresh_pairs() -> None:
    from siamfc.pipeline.pairs import shard_indices

    parts = [shard_indices(math.ceil(31 / 3), r, 3, w, 2) for r in range(3) for w in range(2)]
    flat = np.concatenate(parts)
    assert len(flat) == len(set(flat.tolist())) == 33 and set(range(31)) <= set(flat.tolist())
    assert {len(np.concatenate(parts[2 * r:2 * r + 2])) for r in range(3)} == {11}


def test_pairs_come_from_one_track_within_the_gap_and_hold_its_crops(root: Path) -> None:
    gap = 3
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=120, max_gap=gap, **NO_AUGMENT))
    m = load_manifest(root)
    reader = ShardReader(root)
    for s in ds:
        rz, rx = (m.records[r] for r in s["records"].tolist())
        assert rz["snippet"] == rx["snippet"] and rz["track"] == rx["track"]
        assert 0 < abs(int(rz["frame"]) - int(rx["frame"])) <= gap
        assert str(m.snippets[rz["snippet"]]).startswith("train/")
        z_crop, _ = reader.crops(m.key(int(s["records"][0])))
        _, x_crop = reader.crops(m.key(int(s["records"][1])))
        assert np.array_equal(s["z"].numpy().transpose(1, 2, 0), z_crop)
        assert np.array_equal(s["x"].numpy().transpose(1, 2, 0), x_crop)
        assert s["target"].tolist() == [0.0, 0.0] and s["label"].sum() == 13


def expected_draws(m, keep: np.ndarray, gap: int) -> dict:
    """Per usable snippet, track and exemplar: the records the sampler may use, by plain Python loops."""
    tracks: dict[tuple[int, int], list[int]] = {}
    for row in np.flatnonzero(keep):
        r = m.records[row]
        tracks.setdefault((int(r["snippet"]), int(r["track"])), []).append(int(row))
    usable: dict[int, dict[int, dict[int, list[int]]]] = {}
    for (snippet, track), rows in tracks.items():
        frames = {row: int(m.records[row]["frame"]) for row in rows}
        partners = {z: [x for x in rows if x != z and abs(frames[x] - frames[z]) <= gap] for z in rows}
        partners = {z: xs for z, xs in partners.items() if xs}
        if partners:
            usable.setdefault(snippet, {})[track] = partners
    return usable


def test_sampling_is_video_then_track_then_frames_over_the_filtered_records(root: Path) -> None:
    gap = 4
    config = SamplerConfig(max_gap=gap, skip_generated=True, skip_occluded=True, min_size=40, max_pad_z=0.3)
    ds = PairDataset(root, config)
    m = load_manifest(root)
    r = m.records
    side = np.minimum(r["xmax"] - r["xmin"] + 1, r["ymax"] - r["ymin"] + 1)
    keep = np.array([str(m.snippets[s]).startswith("train/") for s in r["snippet"]])
    keep &= (r["generated"] == 0) & (r["occluded"] == 0) & (side >= 40) & (r["pad_z"] <= 0.3)
    assert 0 < keep.sum() < len(r)
    usable = expected_draws(m, keep, gap)
    n = 60_000
    index = ds.curations[0].index
    z, x = index.draw(np.random.default_rng(0).random((n, 4)))
    z_rows, x_rows = index.rows[z], index.rows[x]
    by_snippet = Counter(r["snippet"][z_rows].tolist())
    assert set(by_snippet) == set(usable)
    for snippet, tracks in usable.items():
        share = by_snippet[snippet] / n
        assert share == pytest.approx(1 / len(usable), abs=4 * math.sqrt(share * (1 - share) / n))
        in_snippet = r["snippet"][z_rows] == snippet
        by_track = Counter(r["track"][z_rows[in_snippet]].tolist())
        assert set(by_track) == set(tracks)
        for track, partners in tracks.items():
            picks = Counter(z_rows[in_snippet][r["track"][z_rows[in_snippet]] == track].tolist())
            assert set(picks) <= set(partners) and len(picks) >= 0.9 * len(partners)
    for zr, xr in zip(z_rows.tolist(), x_rows.tolist(), strict=True):
        assert xr in usable[int(r["snippet"][zr])][int(r["track"][zr])][zr]


def test_loader_batches_uint8_and_float(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=8))
    b8 = next(iter(PairLoader(ds, batch_size=4)))
    bf = next(iter(PairLoader(ds, batch_size=4, dtype=torch.float32)))
    shapes = {"z": (4, 3, 127, 127), "x": (4, 3, 255, 255), "label": (4, 17, 17), "weight": (4, 17, 17),
              "target": (4, 2), "index": (4,), "records": (4, 2), "source": (4,)}
    assert {k: tuple(v.shape) for k, v in b8.items()} == shapes
    assert b8["x"].dtype == torch.uint8 and bf["x"].dtype == bf["z"].dtype == torch.float32
    assert all(v.is_contiguous() for v in b8.values())
    assert torch.equal(bf["x"], b8["x"].float()) and torch.equal(bf["label"], b8["label"])
    assert torch.allclose(b8["weight"].sum(dim=(1, 2)), torch.ones(4))


@pytest.mark.slow
def test_loader_stream_is_the_same_for_any_worker_count_and_chunk_size(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=26, flip=0.5), rank=1, world_size=2)
    ds.set_epoch(1)
    direct = list(ds)  # pair by pair, in the rank's order
    # 2 workers, chunks of 2: 7 chunks each, more than their 4 buffers, so kept batches must survive buffer reuse
    for workers, batch, chunk in ((0, 4, 64), (2, 2, 2)):
        loader = PairLoader(ds, batch_size=batch, num_workers=workers, chunk_pairs=chunk)
        loader.set_epoch(1)
        batches = list(loader)
        assert len(batches) == len(loader) == math.ceil(13 / batch)
        assert [len(b["index"]) for b in batches] == [batch] * (13 // batch) + [13 % batch]
        flat = [{k: b[k][j] for k in KEYS} for b in batches for j in range(len(b["index"]))]
        assert len(flat) == len(direct) and all(same(a, b) for a, b in zip(flat, direct, strict=True))
    parts = [set(np.concatenate(ds.chunks(4, w, 3)).tolist()) for w in range(3)]
    assert sum(map(len, parts)) == 13 and set.union(*parts) == {int(s["index"]) for s in direct}


@pytest.mark.slow
def test_an_abandoned_epoch_neither_hangs_nor_leaks_buffers(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=40))
    loader = PairLoader(ds, batch_size=2, num_workers=2, chunk_pairs=2)  # 10 chunks per worker, 4 buffers each
    expected = {}
    for epoch in (0, 1, 2):
        ds.set_epoch(epoch)
        expected[epoch] = [int(s["index"]) for s in ds], [s["records"].tolist() for s in ds]
    for epoch in (0, 1):  # take one batch, walk away: buffers stay taken by chunks whose messages get dropped
        loader.set_epoch(epoch)
        first = next(iter(loader))
        assert first["records"].tolist() == expected[epoch][1][:2]
    loader.set_epoch(2)
    batches = list(loader)
    assert [int(i) for b in batches for i in b["index"]] == expected[2][0]
    assert [r for b in batches for r in b["records"].tolist()] == expected[2][1]
    del batches, first
    gc.collect()
    assert not loader.slots.state.any()  # every buffer free again


@pytest.mark.slow
def test_a_batch_kept_across_passes_only_takes_its_own_buffer_out_of_the_ring(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=24))
    loader = PairLoader(ds, batch_size=2, num_workers=1, chunk_pairs=2)  # 12 chunks a pass through 4 buffers
    loader.slots.wait = 5.0  # a buffer freed late (this process descheduled) must not look like a lost one
    buffers = [(b.data_ptr(), b.data_ptr() + b.nbytes()) for b in loader.slots.buffers[0]]

    def in_a_buffer(chunk: dict[str, torch.Tensor]) -> bool:
        return any(lo <= chunk["x"].data_ptr() < hi for lo, hi in buffers)

    ds.set_epoch(0)
    stream = loader.chunk_stream()
    kept = next(stream)  # like a loop variable that outlives its loop
    kept_x = kept["x"].clone()
    rest = [in_a_buffer(chunk) for chunk in stream]
    ds.set_epoch(1)
    rest += [in_a_buffer(chunk) for chunk in loader.chunk_stream()]
    assert len(rest) == 23 and all(rest)  # none sent the slow way, through a fresh segment
    assert in_a_buffer(kept) and torch.equal(kept["x"], kept_x)  # its buffer was not reused under it


def test_chunk_slots_take_any_free_buffer_and_give_up_on_a_new_pass() -> None:
    layout, size = batch_layout({"x": (torch.uint8, (4,))}, 2)
    slots = ChunkSlots(1, 2, layout, size)
    slots.wait = 0.01
    generation = slots.begin(0)
    assert slots.acquire(0, generation) == 0 and slots.acquire(0, generation) == 1
    assert slots.acquire(0, generation) is None  # all taken: the chunk goes the ordinary way
    held = slots.hand_out(0, 1, 2)
    assert slots.begin(0) == generation  # a new pass frees the buffer whose message was dropped, not the held one
    assert slots.state.tolist() == [[FREE, HELD]] and slots.acquire(0, generation) == 0
    slots.wait = 60.0
    threading.Timer(0.2, slots.start_pass).start()
    start = time.monotonic()
    assert slots.acquire(0, generation) == ChunkSlots.GIVE_UP and time.monotonic() - start < 30
    del held
    gc.collect()
    assert slots.state.tolist() == [[FILLED, FREE]]  # the last view gone, its buffer is free again


@pytest.mark.parametrize("curation, changes", [("curated_jpeg", {}), ("curated_raw", {}),
                                               ("curated_jpeg", {"search_size": 239, "exemplar_stretch": 0.0})])
def test_items_match_their_spec_and_stored_pairs_hold_the_stored_crops(request, curation: str, changes: dict) -> None:
    root = request.getfixturevalue(curation)  # raw crops decode to read-only views of the LMDB value
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=6, **changes))
    for stored in (False, True):
        items = [ds.stored_pair(i) if stored else ds.pair(i) for i in range(6)]
        assert all({k: (v.dtype, tuple(v.shape)) for k, v in item.items()} == ds.item_spec(stored) for item in items)
    reader, h = ShardReader(root), (ds.z_region - 1) // 2
    for i, item in enumerate(items):
        z_crop, x_crop = (decode_crop(reader.get_in(*source)) for source in ds.sources(i))
        assert np.array_equal(item["z_stored"].numpy(), z_crop[127 - h:128 + h, 127 - h:128 + h])
        assert np.array_equal(item["x_stored"].numpy(), x_crop)
        assert torch.equal(item["augment"], torch.from_numpy(ds._drawn(0, None).augment[i].astype(np.float32)))


@pytest.mark.slow
def test_device_augmentation_gives_the_worker_pairs_up_to_rounding(root: Path) -> None:
    config = SamplerConfig(pairs_per_epoch=24, flip=0.5, grayscale=0.3, color_jitter=0.2)
    on_workers = list(PairLoader(PairDataset(root, config), batch_size=8, augment_on="workers"))
    ds = PairDataset(root, config)
    on_device = list(PairLoader(ds, batch_size=8, num_workers=2, augment_on="device"))  # stored crops via workers
    assert len(on_device) == 3
    for a, b in zip(on_workers, on_device, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in ("label", "weight", "target", "index", "records", "source"))
        for k in ("z", "x"):
            assert a[k].shape == b[k].shape and b[k].dtype == torch.uint8
            # cv2 rounds after the resize, the gray conversion and the gain (which scales the earlier rounding)
            diff = (a[k].int() - b[k].int()).abs()
            assert diff.max() <= 3 and diff.float().mean() < 0.5 and (diff > 1).float().mean() < 0.01, k


def test_loader_errors() -> None:
    ds = object.__new__(PairDataset)  # the checks come before the dataset is used
    with pytest.raises(ValueError, match="augment_on"):
        PairLoader(ds, augment_on="gpu")
    with pytest.raises(ValueError, match="dtype"):
        PairLoader(ds, dtype=torch.int32)
    with pytest.raises(ValueError, match="batch_size"):
        PairLoader(ds, batch_size=0)


def test_loader_refuses_workers_that_would_not_fit_in_shared_memory(root: Path, monkeypatch) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=8))
    monkeypatch.setattr(loader_module, "shared_memory_free", lambda: 40 * 2**20)  # a 64 MB docker /dev/shm, in use
    # a chunk of 32 stored pairs: 32 x (135*135*3 + 255*255*3 + 2 label maps 17*17*4 + 96) bytes = 7.7 MiB
    with pytest.raises(RuntimeError, match=r"needs 62 MiB of shared memory \(2 workers x 4 chunk buffers x 7.7 MiB"):
        PairLoader(ds, batch_size=8, num_workers=2, augment_on="device")
    loader = PairLoader(ds, batch_size=8, num_workers=2, augment_on="device", chunk_pairs=8)  # a quarter: fits
    sizes = [[storage.nbytes() for storage in ring] for ring in loader.slots.buffers]
    pair = 135 * 135 * 3 + 255 * 255 * 3 + 2 * 17 * 17 * 4 + 96  # bytes of one stored pair, as above
    assert loader.chunk == 8 and len(sizes) == 2 and all(len(ring) == 4 for ring in sizes), sizes
    assert all(8 * pair <= n <= 8 * pair + 4096 for ring in sizes for n in ring), (sizes, 8 * pair)
    assert sum(map(sum, sizes)) < 40 * 2**20


def test_other_crop_sizes_change_the_response_size(root: Path) -> None:
    ds = PairDataset(root, SamplerConfig(pairs_per_epoch=2, search_size=239))
    s = next(iter(ds))
    assert s["x"].shape == (3, 239, 239) and s["label"].shape == s["weight"].shape == (15, 15)


def test_val_split_and_user_errors(root: Path) -> None:
    m = load_manifest(root)
    val = PairDataset(root, SamplerConfig(pairs_per_epoch=10), splits=("val",))
    assert all(str(m.snippets[m.records[int(s["records"][0])]["snippet"]]).startswith("val/") for s in val)
    with pytest.raises(ValueError, match=str(root)):
        PairDataset(root, SamplerConfig(min_size=10_000))
    with pytest.raises(ValueError, match="exemplar_size"):
        SamplerConfig(exemplar_size=128)
    with pytest.raises(ValueError, match="flip"):
        SamplerConfig(flip=1.5)
    with pytest.raises(ValueError, match="rank"):
        PairDataset(root, rank=2, world_size=2)


def test_rank_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_rank() == DistInfo(0, 1, 0)  # a single process
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_rank() == DistInfo(1, 3, 1)  # torchrun's environment
    assert resolve_rank(2, 4) == DistInfo(2, 4, 1)  # given values win
    with pytest.raises(ValueError, match="rank 3"):
        resolve_rank(3, 3)
