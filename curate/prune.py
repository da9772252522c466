"""``siamfc curate --prune``: drop from a curation the snippets whose folders are gone from the source.

A rerun names the committed snippets the source no longer has (:attr:`~.run.CurationSummary.snippets_gone`); with
``prune`` their records go: each snippet's crops and its snippet record, all of a shard's in one LMDB write
transaction (so a shard holds either all of its pruned snippets or none, whatever stops the run), then their ids
leave ``plan.json``, so the curation is complete again with what is left. The manifest and the skip report are
derived from the shards and follow by themselves (the caller rescans).

Only the writer may prune: the caller holds the curation's lock (:meth:`~.folder.CurationLayout.lock`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .errors import CurationError
from .folder import CurationLayout
from .schema import split_of
from .shards import DEFAULT_MAP_SIZE, ShardError, ShardWriter


def prune_snippets(layout: CurationLayout, snippet_ids: Iterable[str], map_size: int = DEFAULT_MAP_SIZE) -> int:
    """Drop the records (crops and snippet record) of ``snippet_ids``, one write transaction per shard, and take
    the ids out of the plan; returns how many of them were committed (and are now dropped)."""
    ids = sorted(set(snippet_ids))
    by_shard: dict[int, list[str]] = defaultdict(list)
    for snippet_id in ids:
        by_shard[layout.shard_for(snippet_id)].append(snippet_id)
    existing = set(layout.existing_shards())
    dropped = 0
    with ShardWriter(layout, map_size) as writer:
        for index, shard_ids in sorted(by_shard.items()):
            if index in existing:  # a shard never written holds none of them
                dropped += _drop_in_shard(writer, index, shard_ids)
    layout.remove_from_plan(set(ids))
    return dropped


def prune_gone(layout: CurationLayout, splits: Iterable[str], in_source: set[str], gone: Iterable[str] = ()) -> int:
    """Prune every snippet of ``splits`` that the curation has (committed: ``gone``, as the run found them; or only
    planned) and the source no longer has (``in_source``: every snippet id of the source's ``splits``); returns
    how many committed snippets were dropped."""
    splits = set(splits)
    planned = layout.planned_snippets() or set()
    return prune_snippets(layout, [*gone, *(s for s in planned if split_of(s) in splits and s not in in_source)])


def _drop_in_shard(writer: ShardWriter, index: int, snippet_ids: list[str]) -> int:
    """Drop ``snippet_ids`` (all of shard ``index``) in one write transaction; returns how many were there."""
    try:
        return writer.drop(index, snippet_ids)
    except ShardError as err:
        raise CurationError(f"{writer.layout.shard_path(index)}: pruning {len(snippet_ids)} snippets failed "
                            f"({err.cause}); nothing of this shard was dropped: fix the cause and rerun with --prune"
                            ) from None
