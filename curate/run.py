"""Running a curation: plan the snippets, fan them out to joblib workers, commit each one atomically.

Resumable by construction: a snippet is committed in one LMDB transaction with its manifest rows,
so after any interruption (``kill -9`` included) the committed set is exact and a rerun only does
the rest. Re-running a finished curation does nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from joblib import delayed
from tqdm.auto import tqdm

from .classes import VID_CLASSES, WNIDS
from .cluster import parallel_backend
from .errors import CurationError
from .format import ENCODINGS, CurationSettings
from .manifest import load_manifest
from .shards import DEFAULT_MAP_SIZE, CurationLayout, ShardWriter
from .snippet import SnippetResult, curate_snippet
from .vid import SPLITS, Snippet, find_snippets

SKIPPED_FILE = "skipped.jsonl"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class CurationConfig:
    """A curation run: where from, where to, which snippets, how many workers, what format."""

    source: Path
    out: Path
    splits: tuple[str, ...] = SPLITS
    max_snippets: int | None = None  # per run, after sorting by id; None = all
    workers: int = 1
    backend: str = "loky"  # "loky" (local processes) or "dask"
    scheduler: str | None = None  # Dask scheduler address; None with backend "dask" starts a LocalCluster
    map_size: int = DEFAULT_MAP_SIZE
    progress: bool = True
    settings: CurationSettings = field(default_factory=CurationSettings)


@dataclass
class CurationSummary:
    """Figures of one run (this run's work, plus the state of the whole curation)."""

    snippets_total: int = 0  # planned in this run
    snippets_already_done: int = 0
    snippets_curated: int = 0
    frames: int = 0
    frames_decoded: int = 0
    records: int = 0
    records_filtered: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0
    frames_per_second: float = 0.0
    curation_records: int = 0  # all records in the curation after this run
    curation_complete: bool = False

    def lines(self) -> list[str]:
        """Human-readable summary."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped_by_reason.items())) or "none"
        per_record = self.bytes_written / self.records if self.records else 0
        return [
            f"snippets  {self.snippets_curated} curated, {self.snippets_already_done} already done, "
            f"{self.snippets_total} planned",
            f"frames    {self.frames} read, {self.frames_decoded} decoded",
            f"records   {self.records} written, {self.records_filtered} filtered out, "
            f"{self.curation_records} in the curation",
            f"skipped   {self.skipped} ({reasons})",
            f"bytes     {self.bytes_written / 1e6:.1f} MB ({per_record / 1e3:.1f} KB/record)",
            f"time      {self.seconds:.1f} s, {self.frames_per_second:.1f} frames/s",
        ]


def resolve_classes(names: list[str] | None) -> tuple[str, ...] | None:
    """Class filter given as WordNet ids or readable names -> sorted WordNet ids."""
    if not names:
        return None
    by_name = {v: k for k, v in VID_CLASSES.items()}
    wnids = []
    for name in names:
        wnid = name if name in VID_CLASSES else by_name.get(name.replace("_", " "))
        if wnid is None:
            raise CurationError(f"unknown class {name!r}; use a WordNet id or one of: {', '.join(by_name)}")
        wnids.append(wnid)
    return tuple(sorted(set(wnids), key=WNIDS.index))


def curate(config: CurationConfig) -> CurationSummary:
    """Curate ``config.source`` into ``config.out``; resumes whatever an earlier run left undone."""
    settings = config.settings
    if settings.encoding not in ENCODINGS:
        raise CurationError(f"unknown encoding {settings.encoding!r}; choose from {list(ENCODINGS)}")
    if settings.shards < 1 or config.workers < 1:
        raise CurationError("--shards and --workers must be at least 1")
    snippets = find_snippets(config.source, config.splits)
    if config.max_snippets is not None:
        snippets = snippets[: config.max_snippets]
    layout = CurationLayout.create(config.out, settings)
    lock = layout.lock()
    try:
        return _run(config, layout, snippets)
    finally:
        os.close(lock)


def _run(config: CurationConfig, layout: CurationLayout, snippets: list[Snippet]) -> CurationSummary:
    start = time.perf_counter()
    layout.add_to_plan([s.id for s in snippets])
    done = layout.committed_snippets()
    todo = [s for s in snippets if s.id not in done]
    summary = CurationSummary(snippets_total=len(snippets), snippets_already_done=len(snippets) - len(todo))
    reasons: Counter[str] = Counter()
    if todo:
        n_frames = sum(len(s.xml_files()) for s in todo)
        jobs = (delayed(curate_snippet)(s, layout.settings, layout.shard_for(s.id)) for s in todo)
        bar = tqdm(total=n_frames, unit="frame", desc="curate", disable=not config.progress, smoothing=0.05)
        with parallel_backend(config.backend, config.workers, config.scheduler) as parallel, \
                ShardWriter(layout, config.map_size) as writer, bar:
            for result in parallel(jobs):
                writer.commit(result.snippet_id, result.crops, result.meta)
                _add(summary, reasons, result)
                bar.update(result.frames)
                bar.set_postfix(records=summary.records, skipped=summary.skipped, refresh=False)
    summary.skipped_by_reason = dict(reasons)
    summary.seconds = time.perf_counter() - start
    summary.frames_per_second = summary.frames / summary.seconds if summary.seconds else 0.0
    manifest = load_manifest(layout.root)
    summary.curation_records = len(manifest)
    summary.curation_complete = manifest.complete
    if todo or not (layout.root / SKIPPED_FILE).exists():  # the report only changes when snippets were committed
        write_skip_report(layout)
    (layout.root / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=1))
    return summary


def _add(summary: CurationSummary, reasons: Counter[str], result: SnippetResult) -> None:
    summary.snippets_curated += 1
    summary.frames += result.frames
    summary.frames_decoded += result.decoded
    summary.records += result.records
    summary.records_filtered += result.filtered
    summary.skipped += len(result.skipped)
    reasons.update(s["reason"] for s in result.skipped)
    summary.bytes_written += sum(len(v) for _, v in result.crops)


def write_skip_report(layout: CurationLayout) -> Path:
    """Rewrite ``skipped.jsonl`` from the committed snippets (so it always matches the shards)."""
    path = layout.root / SKIPPED_FILE
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        for _, meta in sorted(layout.iter_snippet_meta(), key=lambda item: item[0]):
            for entry in meta.skipped:
                f.write(json.dumps(entry) + "\n")
    os.replace(tmp, path)
    return path
