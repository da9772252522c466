"""Where curation work runs: local joblib processes, or a Dask cluster through joblib's Dask backend.

Either way only the per-snippet work is shipped out; results come back to the calling process, the
single LMDB writer, so shards are written on one machine's path (local or shared storage) and never
by several hosts at once. Workers need the ILSVRC2015 tree at the same path (shared storage).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import joblib

from .errors import CurationError

BACKENDS = ("loky", "dask")


@contextlib.contextmanager
def parallel_backend(backend: str, workers: int, scheduler: str | None = None) -> Iterator[joblib.Parallel]:
    """A joblib ``Parallel`` yielding results as they finish, on the chosen backend.

    ``dask``: connect to ``scheduler`` (an address such as ``tcp://host:8786``), or start a
    ``LocalCluster`` of ``workers`` single-threaded processes when no address is given.
    """
    if backend == "loky":
        yield joblib.Parallel(n_jobs=workers, return_as="generator_unordered", batch_size=1)
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
