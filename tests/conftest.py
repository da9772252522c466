"""Shared fixtures: one synthetic ILSVRC2015 tree and its curations, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from siamfc.curate.format import CurationSettings
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.shards import read_env
from siamfc.curate.synth import SynthConfig, generate


@pytest.fixture(scope="session")
def synth_vid(tmp_path_factory) -> tuple[Path, list]:
    """(root, objects) of the default synthetic dataset."""
    root = tmp_path_factory.mktemp("vid") / "ILSVRC2015"
    return root, generate(root, SynthConfig())


def run_curation(source: Path, out: Path, **settings) -> Path:
    """Curate ``source`` into ``out`` quietly with the given CurationSettings fields."""
    curate(CurationConfig(source=source, out=out, progress=False, settings=CurationSettings(**settings)))
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


def all_values(root: Path) -> dict[bytes, bytes]:
    """Every stored crop of a curation, read straight from LMDB (independent of ShardReader)."""
    values = {}
    for shard in sorted(root.glob("shard-*.lmdb")):
        env = read_env(shard)  # the process's one handle (LMDB allows no second one)
        with env.begin(db=env.open_db(b"crops", create=False)) as txn:
            values.update((bytes(k), bytes(v)) for k, v in txn.cursor())
    return values
