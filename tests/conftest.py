"""Shared fixtures: the synthetic trees of every format and the VID tree's curations, each built once per test
session (lazily: only the formats a run's tests ask for). Tests that damage a tree copy it first
(``shutil.copytree`` from the session tree)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from siamfc.curate.shards import read_env
from siamfc.curate.synth import SynthConfig, generate, generate_format

from source_checks import curate_quietly

Tree = tuple[Path, list]  # (root, truth) of a synthetic tree


@pytest.fixture(scope="session")
def synth_vid(tmp_path_factory) -> Tree:
    """(root, objects) of the default synthetic ILSVRC2015 tree."""
    root = tmp_path_factory.mktemp("vid") / "ILSVRC2015"
    return root, generate(root, SynthConfig())


@pytest.fixture(scope="session")
def synth_tree(tmp_path_factory, synth_vid) -> Callable[[str], Tree]:
    """``synth_tree(fmt)``: (root, truth) of format ``fmt``'s default synthetic tree, written on first use and
    shared by every test of the session (read it; copy it to damage it)."""
    trees: dict[str, Tree] = {"vid": synth_vid}

    def tree(fmt: str) -> Tree:
        if fmt not in trees:
            base = tmp_path_factory.mktemp(f"synth-{fmt}")
            trees[fmt] = (base / fmt, generate_format(base / fmt, fmt))
        return trees[fmt]

    return tree


@pytest.fixture(scope="session")
def got10k_tree(synth_tree) -> Tree:
    return synth_tree("got10k")


@pytest.fixture(scope="session")
def lasot_tree(synth_tree) -> Tree:
    """3 train and 2 test videos of 12 frames."""
    return synth_tree("lasot")


@pytest.fixture(scope="session")
def trackingnet_tree(synth_tree) -> Tree:
    return synth_tree("trackingnet")


@pytest.fixture(scope="session")
def coco_tree(synth_tree) -> Tree:
    """The truth's snippets are those of the source's GROUP_SIZE when written (1000: one group per split)."""
    return synth_tree("coco")


@pytest.fixture(scope="session")
def raw_curation(synth_tree, tmp_path_factory) -> Callable[[str], Path]:
    """``raw_curation(fmt)``: a raw, full-resolution curation of ``synth_tree(fmt)`` (records and crops comparable
    with the truth), made on first use."""
    made: dict[str, Path] = {}

    def curation(fmt: str) -> Path:
        if fmt not in made:
            out = tmp_path_factory.mktemp(f"raw-{fmt}") / "cur"
            curate_quietly(synth_tree(fmt)[0], out, fmt=fmt, encoding="raw", max_reduction=1, shards=2)
            made[fmt] = out
        return made[fmt]

    return curation


def run_curation(source: Path, out: Path, **options) -> Path:
    """:func:`source_checks.curate_quietly`, returning ``out`` (kept for the modules that import it from here)."""
    curate_quietly(source, out, **options)
    return out


@pytest.fixture(scope="session")
def curated_raw(synth_vid, tmp_path_factory) -> Path:
    """Raw crops decoded at full resolution: pixel-comparable with an independent computation."""
    return run_curation(synth_vid[0], tmp_path_factory.mktemp("cur") / "raw", encoding="raw", max_reduction=1,
                        shards=3)


@pytest.fixture(scope="session")
def curated_jpeg(synth_vid, tmp_path_factory) -> Path:
    """The default curation (JPEG crops, reduced decoding allowed)."""
    return run_curation(synth_vid[0], tmp_path_factory.mktemp("cur") / "jpeg", shards=3)


@pytest.fixture(scope="session")
def weights(tmp_path_factory) -> Path:
    """A weights file of the AlexNet SiamFC at torch seed 0: untrained, but a real network for track and eval
    (tests/test_tracker_backends.py has its own, template-matching weights)."""
    import torch  # here, not at the top: most tests need no torch

    from siamfc.model.net import SiamFCNet

    path = tmp_path_factory.mktemp("weights") / "weights.pt"
    torch.manual_seed(0)
    torch.save(SiamFCNet().state_dict(), path)
    return path


def all_values(root: Path) -> dict[bytes, bytes]:
    """Every stored crop of a curation, read straight from LMDB (independent of ShardReader)."""
    values = {}
    for shard in sorted(root.glob("shard-*.lmdb")):
        env = read_env(shard)  # the process's one handle (LMDB allows no second one)
        with env.begin(db=env.open_db(b"crops", create=False)) as txn:
            values.update((bytes(k), bytes(v)) for k, v in txn.cursor())
    return values
