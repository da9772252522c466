"""Curation through joblib's Dask backend on a LocalCluster: same records as the local run, and a worker
killed mid-run loses nothing."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from siamfc.curate.folder import CurationLayout
from siamfc.curate.shards import scan_shards
from siamfc.curate.synth import SynthConfig, generate

from conftest import all_values
from source_checks import curate_quietly

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a LocalCluster of worker processes per test

SHARDS = 3


@pytest.fixture(scope="module")
def vid(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask-vid") / "ILSVRC2015"
    generate(root, SynthConfig(train_snippets=8, val_snippets=2, frames=10, seed=3))
    local = tmp_path_factory.mktemp("dask-local") / "cur"
    curate_quietly(root, local, shards=SHARDS)
    return root, local


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def _slow_snippets(delay: float) -> None:
    """Run on each Dask worker: make every snippet take ``delay`` seconds longer."""
    import siamfc.curate.snippet as snippet

    original = snippet.curate_snippet

    def slow(*args):
        time.sleep(delay)
        return original(*args)

    snippet.curate_snippet = slow


def test_local_cluster_writes_the_same_bytes_as_joblib(vid, tmp_path, cluster):
    root, local = vid
    out = tmp_path / "dask"
    summary = curate_quietly(root, out, backend="dask", scheduler=cluster.scheduler_address, shards=SHARDS)
    assert summary.snippets_curated == 10
    assert all_values(out) == all_values(local)


def test_killing_a_worker_mid_run_loses_nothing(vid, tmp_path, cluster):
    root, local = vid
    out = tmp_path / "dask-kill"
    with distributed.Client(cluster) as client:
        client.run(_slow_snippets, 0.5)
        pids = list(client.run(os.getpid).values())

    killed = []

    def kill_one_worker():  # mid-run: 10 snippets of >= 0.5 s each on 2 workers take >= 2.5 s
        time.sleep(1.2)
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    summary = curate_quietly(root, out, backend="dask", scheduler=cluster.scheduler_address, shards=SHARDS)
    killer.join()
    assert killed and summary.seconds > 1.2, "the worker must die while snippets are still running"
    assert summary.snippets_curated == 10
    assert sorted(scan_shards(CurationLayout.open(out)).metas) == sorted(
        scan_shards(CurationLayout.open(local)).metas)
    assert all_values(out) == all_values(local)
