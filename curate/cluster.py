"""Where curation work runs: local joblib processes, or a Dask cluster through joblib's Dask backend.

Either way only the per-snippet work is shipped out; results come back to the calling process, the
single LMDB writer, so shards are written on one machine's path (local or shared storage) and never
by several hosts at once. Workers need the ILSVRC2015 tree at the same path (shared storage).

Local (loky) workers watch their parent: each one exits within ``WATCH_INTERVAL`` seconds of the process
that started it dying, whatever killed it (``kill -9`` included). Without this, loky workers orphaned by a
``kill -9`` live on forever (blocked writing results nobody reads), and with them loky's and
multiprocessing's resource trackers, which only exit once every worker has closed their pipes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

import joblib

from .errors import CurationError

BACKENDS = ("loky", "dask")
WATCH_INTERVAL = 0.2  # seconds between a local worker's checks that its parent is still alive
ORPHAN_EXIT_CODE = 70  # exit status of a worker that found its parent gone


def local_parallel(workers: int) -> joblib.Parallel:
    """A joblib ``Parallel`` over ``workers`` local loky processes, yielding results as they finish
    (``return_as="generator_unordered"``, ``batch_size=1``). Its workers leave Ctrl-C to this process (which
    stops them as it unwinds) and exit within ``WATCH_INTERVAL`` seconds of this process dying, however it dies.

    ``workers == 1`` runs the jobs in this process, as joblib does.
    """
    # The watch is installed by loky's worker initializer, so it also covers workers that never get a job
    # and workers loky respawns; equal initializer arguments let joblib reuse the executor across calls.
    with joblib.parallel_config(backend="loky", initializer=_init_worker, initargs=(os.getpid(),)):
        return joblib.Parallel(n_jobs=workers, return_as="generator_unordered", batch_size=1)


def _init_worker(parent: int) -> None:
    """Loky worker initializer: leave Ctrl-C to ``parent`` and end this process once ``parent`` is gone."""
    # Ctrl-C reaches the whole process group; the parent alone unwinds, and stops the workers (no traceback each)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="siamfc-watch-parent", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    # Polling getppid() rather than prctl(PR_SET_PDEATHSIG): the death signal follows the *thread* that forked
    # the worker, and loky respawns workers from its manager thread or whichever thread submits. A parent that
    # died before this thread started is caught too, since the worker was already reparented.
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(ORPHAN_EXIT_CODE)  # nothing to flush: results only count once the parent commits them


@contextlib.contextmanager
def parallel_backend(backend: str, workers: int, scheduler: str | None = None) -> Iterator[joblib.Parallel]:
    """A joblib ``Parallel`` yielding results as they finish, on the chosen backend.

    ``loky``: ``local_parallel(workers)``, local processes that exit when this process dies.
    ``dask``: connect to ``scheduler`` (an address such as ``tcp://host:8786``), or start a
    ``LocalCluster`` of ``workers`` single-threaded processes when no address is given.
    """
    if backend == "loky":
        yield local_parallel(workers)
        return
    if backend != "dask":
        raise CurationError(f"unknown backend {backend!r}; choose from {list(BACKENDS)}")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CurationError("--backend dask needs dask.distributed: pip install -e '.[dask]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout="30s"))
            except OSError as err:
                raise CurationError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        else:
            cluster = stack.enter_context(
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        stack.enter_context(joblib.parallel_config(backend="dask", client=client))
        yield joblib.Parallel(return_as="generator_unordered", batch_size=1)
