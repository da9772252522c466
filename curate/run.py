"""Running a curation: find the source's sequences, fan them out to joblib workers, commit each one atomically.

The source is any layout of :mod:`.sources` (recognised by itself, or named); each of its sequences is stored as one
snippet of the curation.

Resumable by construction: a snippet is committed in one LMDB transaction with its manifest rows,
so after any interruption (``kill -9`` included) the committed set is exact and a rerun only does
the rest. Re-running a finished curation does nothing, except:

- a snippet whose stored record is damaged is redone (its old crops are replaced in the same transaction);
- with ``refresh``, snippets whose input files changed since they were committed are redone;
- a damaged shard stops the run with one line naming it, unless ``repair``: then it is renamed out of the way
  (``shard-NNN.lmdb.damaged-<time>``, kept) and the snippets it held are redone; other shards are not touched.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from joblib import delayed
from tqdm.auto import tqdm

from .atomic import atomic_write, write_json_atomic
from .cluster import BACKENDS, parallel_backend
from .config_checks import check_types
from .config_json import to_json
from .errors import CurationError, UserError
from .folder import CurationLayout
from .manifest import load_manifest
from .prune import prune_gone
from .schema import CurationSettings, split_of
from .shards import DEFAULT_MAP_SIZE, ShardScan, ShardWriter, clear_unfinished, scan_shards, set_aside_shard
from .snippet import SnippetResult, curate_snippet, inputs_fingerprint
from .sources import detect_format, source_format
from .sources.account import FileAccount, account_files
from .sources.base import Sequence, SequenceSearch, SourceFormat
from .verify import verify

SKIPPED_FILE = "skipped.jsonl"
SUMMARY_FILE = "summary.json"
_NOTES_SHOWN = 10  # notes printed in the summary; summary.json has them all


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; where that is unknown, the machine's cores)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


@dataclass(frozen=True)
class CurationConfig:
    """A curation run: where from, where to, which snippets, how many workers, what format.

    ``format`` names the source's layout (None: recognised by itself); ``settings.source`` is set from it."""

    source: Path
    out: Path
    splits: tuple[str, ...] | None = None  # None: every split of the format that can be curated
    format: str | None = None
    max_snippets: int | None = None  # per run, after sorting by id; None = all
    workers: int | None = None  # worker processes; None: the cores this process may use (usable_cores())
    backend: str = "loky"  # "loky" (local processes) or "dask"
    scheduler: str | None = None  # Dask scheduler address; None with backend "dask" starts a LocalCluster
    map_size: int = DEFAULT_MAP_SIZE
    progress: bool = True
    refresh: bool = False  # redo committed snippets whose input files changed since their commit
    repair: bool = False  # set damaged shards aside and redo their snippets (otherwise a damaged shard stops the run)
    prune: bool = False  # drop the committed snippets of ``splits`` whose folders are gone from the source
    list_unused: bool = False  # keep the path of every file outside the layout in the summary's account
    settings: CurationSettings = field(default_factory=CurationSettings)

    def __post_init__(self) -> None:
        check_types(self, prefix="")  # every field of its annotated type (a str or Path for the paths) first
        if self.workers is None:
            object.__setattr__(self, "workers", usable_cores())
        if self.backend not in BACKENDS:
            raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.max_snippets is not None and self.max_snippets < 1:
            raise UserError(f"max_snippets must be at least 1, got {self.max_snippets}")
        if self.prune and self.max_snippets is not None:
            raise UserError("prune cannot go with max_snippets: a run limited to some snippets cannot tell which "
                             "committed ones are gone from the source")
        if self.workers < 1:
            raise UserError(f"workers must be at least 1, got {self.workers}")
        if self.map_size < 1 << 16:
            raise UserError(f"map_size must be at least 64 KiB, got {self.map_size}")


@dataclass
class CurationSummary:
    """Figures of one run (this run's work, plus the state of the whole curation)."""

    source: str = ""  # the dataset format read
    splits: list[str] = field(default_factory=list)
    sequences_by_split: dict[str, int] = field(default_factory=dict)  # found in the source, of the splits asked for
    snippets_total: int = 0  # planned in this run
    snippets_already_done: int = 0
    snippets_curated: int = 0
    frames: int = 0
    frames_decoded: int = 0
    records: int = 0
    records_filtered: int = 0
    objects_hidden: int = 0  # annotated but not visible (absent, occluded, out of view): not cropped
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0
    frames_per_second: float = 0.0
    workers: int = 0  # worker processes the run used (0: a Dask scheduler's workers, not counted here)
    curation_records: int = 0  # all records in the curation after this run
    curation_complete: bool = False
    snippets_redone: int = 0  # committed before, redone: damaged record, changed inputs or a set-aside shard
    snippets_changed: int = 0  # of those, found changed by refresh
    classes_not_found: list[str] = field(default_factory=list)  # asked with --classes, held by no object curated
    folders_passed_over: list[str] = field(default_factory=list)  # symlink loops, aliases, over-long paths
    shards_set_aside: list[str] = field(default_factory=list)  # damaged shards renamed by repair
    damaged: list[str] = field(default_factory=list)  # what is still unreadable after the run
    snippets_gone: list[str] = field(default_factory=list)  # committed, but no longer in the source tree
    snippets_pruned: int = 0  # of those, dropped from the curation (prune)
    notes: list[str] = field(default_factory=list)  # problems that dropped nothing (a class name not readable)
    files: FileAccount = field(default_factory=FileAccount)  # what became of every file under the source

    def lines(self) -> list[str]:
        """Human-readable summary."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped_by_reason.items())) or "none"
        per_record = self.bytes_written / self.records if self.records else 0
        notes = [f"set aside {p} (damaged; its snippets were redone)" for p in self.shards_set_aside]
        notes += [f"passed over {line}" for line in self.folders_passed_over + self.files.folders]
        notes += [f"note      {line}" for line in self.notes[:_NOTES_SHOWN]]
        if len(self.notes) > _NOTES_SHOWN:
            notes.append(f"note      and {len(self.notes) - _NOTES_SHOWN} more notes (summary.json lists them)")
        notes += [f"DAMAGED   {line}" for line in self.damaged]
        if self.classes_not_found:
            names = ", ".join(map(repr, self.classes_not_found))
            notes.append(f"classes   no object curated in this run has class {names} (asked with --classes: check "
                         "the name against the dataset's classes)")
        if self.snippets_pruned:
            example = f" (e.g. {self.snippets_gone[0]})" if self.snippets_gone else ""
            notes.append(f"pruned    {self.snippets_pruned} committed snippets no longer in the source{example}: "
                         "their records are dropped from the curation")
        elif self.snippets_gone:
            notes.append(f"gone      {len(self.snippets_gone)} committed snippets are no longer in the source (e.g. "
                         f"{self.snippets_gone[0]}); they stay in the curation")
        redone = f" ({self.snippets_redone} redone, {self.snippets_changed} of them changed inputs)" \
            if self.snippets_redone else ""
        found = ", ".join(f"{split} {self.sequences_by_split.get(split, 0)}" for split in self.splits)
        return notes + [
            f"source    {self.source}, split(s) asked for: {found} sequences",
            f"snippets  {self.snippets_curated} curated{redone}, {self.snippets_already_done} already done, "
            f"{self.snippets_total} planned",
            f"frames    {self.frames} read, {self.frames_decoded} decoded",
            f"records   {self.records} written, {self.records_filtered} filtered out, {self.objects_hidden} not "
            f"visible (not cropped), {self.curation_records} in the curation",
            f"skipped   {self.skipped} ({reasons})",
            f"bytes     {self.bytes_written / 1e6:.1f} MB ({per_record / 1e3:.1f} KB/record)",
            f"time      {self.seconds:.1f} s, {self.frames_per_second:.1f} frames/s, "
            + (f"{self.workers} worker{'s' * (self.workers != 1)}" if self.workers else "the Dask cluster's workers"),
            f"files     {self.files.line()}",
        ]


def source_of(config: CurationConfig) -> SourceFormat:
    """The format of ``config.source``: ``config.format``, or recognised from the tree."""
    return source_format(config.format or detect_format(config.source))


def _search(source: Path, splits: tuple[str, ...], fmt: SourceFormat) -> SequenceSearch:
    """The sequences of ``splits`` (CurationError for a split the format has not)."""
    unknown = sorted(set(splits) - set(fmt.splits))
    if unknown:
        raise CurationError(f"{source}: {fmt.title} has no split {', '.join(unknown)} that can be curated; "
                            f"choose from {', '.join(fmt.splits)}")
    return fmt.search(Path(source), tuple(splits))


def curate(config: CurationConfig) -> CurationSummary:
    """Curate ``config.source`` into ``config.out``; resumes whatever an earlier run left undone."""
    fmt = source_of(config)
    config = dataclasses.replace(config, splits=config.splits or fmt.splits,
                                 settings=dataclasses.replace(config.settings, source=fmt.name))
    search = _search(config.source, config.splits, fmt)
    snippets = search.sequences
    if config.max_snippets is not None:
        snippets = snippets[: config.max_snippets]
    files = account_files(Path(config.source), snippets, {"past --max-snippets": search.sequences[len(snippets):]},
                          search.passed_over, search.read, functools.partial(fmt.outside, splits=config.splits),
                          keep_paths=config.list_unused)
    layout = CurationLayout.create(config.out, config.settings)
    lock = layout.lock()
    try:
        in_source = {s.id for s in search.sequences} if config.max_snippets is None else None
        summary = _run(config, layout, snippets, in_source)
    finally:
        os.close(lock)
    summary.folders_passed_over, summary.files = search.passed_over, files
    summary.notes = search.notes + summary.notes
    summary.source, summary.splits = f"{fmt.title} ({fmt.name})", list(config.splits)
    summary.sequences_by_split = dict(Counter(s.split for s in search.sequences))
    write_json_atomic(layout.root / SUMMARY_FILE, to_json(summary))
    return summary


def _run(config: CurationConfig, layout: CurationLayout, snippets: list[Sequence],
         in_source: set[str] | None) -> CurationSummary:
    """Curate ``snippets`` into ``layout``; ``in_source`` (every snippet id of the source's splits, None when only
    some were asked for) names the committed snippets whose folders are gone."""
    start = time.perf_counter()
    found = scan = scan_shards(layout)
    for i in sorted(scan.unfinished):  # nothing in them can be read: replaced, their snippets redone
        clear_unfinished(layout.shard_path(i))
    damaged = {i: cause for i, cause in scan.damaged_shards.items() if i not in scan.unfinished}
    if config.repair:
        damaged |= _shards_with_problems(layout, config)
    set_aside = _set_aside_damaged(layout, damaged, config.repair)
    if set_aside or scan.unfinished:
        scan = scan_shards(layout)
    layout.add_to_plan([s.id for s in snippets] + list(scan.metas))  # a lost plan.json is rebuilt from the shards
    todo, changed = _to_do(snippets, scan, config.refresh)
    summary = CurationSummary(snippets_total=len(snippets), snippets_already_done=len(snippets) - len(todo),
                              snippets_changed=len(changed), shards_set_aside=[str(p) for p in set_aside],
                              workers=0 if config.backend == "dask" and config.scheduler else config.workers)
    summary.snippets_redone = len(changed) + sum(
        s.id in found.damaged_snippets or layout.shard_for(s.id) in damaged for s in todo)
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    if todo:
        n_frames = sum(s.frame_count() for s in todo)
        jobs = (delayed(curate_snippet)(s, layout.settings, layout.shard_for(s.id)) for s in todo)
        bar = tqdm(total=n_frames, unit="frame", desc="curate", disable=not config.progress, smoothing=0.05)
        with parallel_backend(config.backend, config.workers, config.scheduler) as parallel, \
                ShardWriter(layout, config.map_size) as writer, bar:
            for result in parallel(jobs):
                writer.commit(result.snippet_id, result.crops, result.meta)
                _add(summary, reasons, result)
                summary.notes += result.notes
                seen |= result.classes
                bar.update(result.frames)
                bar.set_postfix(records=summary.records, skipped=summary.skipped, refresh=False)
    summary.skipped_by_reason = dict(reasons)
    if todo and layout.settings.classes:
        summary.classes_not_found = sorted(set(layout.settings.classes) - seen)
    summary.seconds = time.perf_counter() - start
    summary.frames_per_second = summary.frames / summary.seconds if summary.seconds else 0.0
    if todo:
        scan = scan_shards(layout)  # the shards as this run left them: the manifest and the skip report come from it
    manifest = load_manifest(layout.root, intact_only=True, scan=scan)
    summary.curation_records = len(manifest)
    summary.curation_complete = manifest.complete
    summary.damaged = manifest.damaged
    if in_source is not None:
        summary.snippets_gone = [s for s in manifest.snippets.tolist()
                                 if split_of(s) in config.splits and s not in in_source]
        if config.prune:  # drop them (and planned ones gone too); what follows is of the curation left
            summary.snippets_pruned = prune_gone(layout, config.splits, in_source, summary.snippets_gone)
            scan = scan_shards(layout) if summary.snippets_pruned else scan
            manifest = load_manifest(layout.root, intact_only=True, scan=scan)
            summary.curation_records, summary.curation_complete = len(manifest), manifest.complete
            summary.damaged = manifest.damaged
    entries = _entries(scan)
    if skip_report_state(layout.root / SKIPPED_FILE, entries) != "agrees":  # derived: rewritten when it differs
        _write_entries(layout.root / SKIPPED_FILE, entries)
    return summary


def _shards_with_problems(layout: CurationLayout, config: CurationConfig) -> dict[int, str]:
    """Shard -> first problem, for every shard in which the full check of ``siamfc stats --verify`` finds one
    (every crop read and checksummed: a damaged value, a lost or foreign record, a damaged crop tree)."""
    report = verify(layout.root, workers=config.workers, progress=config.progress, locked=True)
    problems: dict[int, str] = {}
    for p in report.problems:
        problems.setdefault(p.shard, f"{p.reason} {p.key} {p.detail}".rstrip())
    return problems


def _set_aside_damaged(layout: CurationLayout, damaged: dict[int, str], repair: bool) -> list[Path]:
    """With ``repair``, rename every damaged shard out of the way; without, stop with one line naming them."""
    if not damaged:
        return []
    if not repair:
        lines = [f"{layout.shard_path(i)}: {cause}" for i, cause in sorted(damaged.items())]
        more = f" (and {len(lines) - 1} more damaged shards)" if len(lines) > 1 else ""
        raise CurationError(f"{lines[0]}{more}; rerun with --repair to set damaged shards aside (renamed, kept) and "
                            "redo the snippets they held; the other shards are not touched")
    return [set_aside_shard(layout, i) for i in sorted(damaged)]


def _to_do(snippets: list[Sequence], scan: ShardScan, refresh: bool) -> tuple[list[Sequence], list[Sequence]]:
    """(snippets to curate in this run, committed snippets among them whose inputs changed)."""
    changed = [s for s in snippets if refresh and s.id in scan.metas
               and scan.metas[s.id].inputs != inputs_fingerprint(s)]
    changed_ids = {s.id for s in changed}
    return [s for s in snippets if s.id not in scan.metas or s.id in changed_ids], changed


def _add(summary: CurationSummary, reasons: Counter[str], result: SnippetResult) -> None:
    summary.snippets_curated += 1
    summary.frames += result.frames
    summary.frames_decoded += result.decoded
    summary.records += result.records
    summary.records_filtered += result.filtered
    summary.objects_hidden += result.hidden
    summary.skipped += len(result.skipped)
    reasons.update(s["reason"] for s in result.skipped)
    summary.bytes_written += sum(len(v) for _, v in result.crops)


def skip_report_state(path: Path, entries: list[dict]) -> str:
    """'agrees', 'missing', 'unreadable' or 'stale (...)': ``skipped.jsonl`` compared with the shards' entries."""
    if not path.is_file():
        return "missing"
    try:
        on_file = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return "unreadable"

    def canon(items: list) -> list[str]:
        return sorted(json.dumps(i, sort_keys=True) for i in items)

    if canon(on_file) == canon(entries):
        return "agrees"
    return f"stale ({len(on_file)} entries on file, {len(entries)} in the shards)"


def _entries(scan: ShardScan) -> list[dict]:
    """The skip report of the committed snippets, in snippet order (``skipped.jsonl`` always matches it)."""
    return [entry for _, meta in sorted(scan.metas.items()) for entry in meta.skipped]


def _write_entries(path: Path, entries: list[dict]) -> Path:
    with atomic_write(path, "w") as f:
        f.writelines(json.dumps(entry) + "\n" for entry in entries)
    return path
