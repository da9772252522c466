"""Integrity check of a curation: every manifest entry has its crop, every crop its entry, every crop is the
value that was stored (checksum) and decodes.

Two passes. First, per shard and in one read transaction, the manifest rows stored in the shard's
``snippets`` database are turned into keys and compared with the keys of its ``crops`` database
(missing crops, orphan crops, rows filed in the wrong shard, snippet records whose own checksum fails).
Then every crop that should be there is read, in parallel chunks over joblib workers, checking its CRC-32C
against the manifest's ``crc``, its size in bytes against ``nbytes`` and its decoded shape against 255x255x3.
A shard that cannot be opened or read (truncated, not LMDB, corrupted) is one problem naming the shard; the
other shards are checked as usual.

The report's ``digest`` is a SHA-256 over every snippet record in key order; since each record holds the CRC
of each of its crops, two curations with the same digest (both verified OK) hold the same keys and values.

The check holds the curation's writer lock, so no ``siamfc curate`` can change the shards under it.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import lmdb
from joblib import delayed
from tqdm.auto import tqdm

from .cluster import local_parallel
from .errors import CurationError
from .folder import CurationLayout
from .geometry import SEARCH_SIZE
from .schema import CROPS_DB, SNIPPETS_DB, checksum, decode_crop, decode_snippet_meta, name_text, record_key
from .shards import (
    ShardError,
    ShardReader,
    check_shard,
    lmdb_cause,
    open_named_db,
    read_env,
)

MISSING = "missing"  # a manifest entry without its crop
ORPHAN = "orphan"  # a crop without a manifest entry
UNDECODABLE = "undecodable"  # the stored value does not decode
BAD_SHAPE = "bad_shape"  # decodes, but not to SEARCH_SIZE x SEARCH_SIZE x 3
SIZE_MISMATCH = "size_mismatch"  # stored value length differs from the manifest's nbytes
CHECKSUM_MISMATCH = "checksum_mismatch"  # stored value's CRC-32C differs from the manifest's crc
DUPLICATE = "duplicate"  # two manifest rows for one crop key
WRONG_SHARD = "wrong_shard"  # a snippet stored in another shard than the one its id hashes to
META_UNDECODABLE = "meta_undecodable"  # a snippet's record (manifest rows) is damaged or does not decode
SHARD_UNREADABLE = "shard_unreadable"  # the shard cannot be opened or read: truncated, not LMDB, corrupted


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the record key (or snippet id, or shard path), its shard, why, and details."""

    key: str
    shard: int
    reason: str
    detail: str = ""


@dataclass
class VerifyReport:
    """What the check saw and every problem it found."""

    shards: int = 0  # shard files checked
    snippets: int = 0  # committed snippets
    planned: int | None = None  # snippets in plan.json (None without a plan)
    entries: int = 0  # manifest entries
    crops: int = 0  # keys in the crops databases
    decoded: int = 0  # crops read, decoded and found well-formed
    checksums: bool = True  # records carry checksums (format 2 on); format 1 curations are checked without
    digest: str = ""  # SHA-256 over every snippet record, in key order (see the module docstring)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(p.reason for p in self.problems).items()))

    def lines(self, max_problems: int = 50) -> list[str]:
        """Human-readable result, listing at most ``max_problems`` problems."""
        partial = "" if self.planned is None or self.snippets >= self.planned else \
            f" (partial curation: {self.snippets} of {self.planned} planned snippets committed)"
        head = (f"verify: {self.entries} manifest entries, {self.crops} crops in {self.shards} shards, "
                f"{self.decoded} {'checksummed and ' if self.checksums else ''}decoded OK{partial}")
        if not self.checksums:
            head += " (format 1: no checksums stored; curate again into a new folder to have them)"
        if self.ok:
            return [head, f"verify: OK, no problems found; content digest sha256:{self.digest}"]
        reasons = ", ".join(f"{k} {v}" for k, v in self.by_reason().items())
        out = [head, f"verify: {len(self.problems)} PROBLEMS ({reasons})"]
        out += [f"  {p.reason:<16} shard {p.shard}  {p.key}  {p.detail}".rstrip() for p in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            out.append(f"  ... {len(self.problems) - max_problems} more (all of them in verify.json with --out)")
        return out

    def to_json(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "problems"}, "ok": self.ok,
                "by_reason": self.by_reason(), "problems": [asdict(p) for p in self.problems]}


def verify(root: str | Path, workers: int = 1, progress: bool = True, chunk_size: int | None = None,
           locked: bool = False) -> VerifyReport:
    """Check the curation at ``root``; problems are collected in the report, never raised. ``locked``: the
    caller holds the writer lock already (``siamfc curate --repair``)."""
    layout = CurationLayout.open(root)
    lock = None if locked else _take_lock(layout)
    try:
        report = VerifyReport(checksums=layout.settings.format_version >= 2)
        planned = layout.planned_snippets()
        report.planned = len(planned) if planned is not None else None
        todo: list[tuple[int, list[Expected]]] = []
        records: list[tuple[bytes, bytes]] = []
        for index in layout.existing_shards():
            report.shards += 1
            todo.append((index, _inventory(layout, index, report, records)))
        report.digest = _digest(records)
        _decode_all(ShardReader(root), todo, report, workers, progress, chunk_size)
        report.problems.sort(key=lambda p: (p.shard, p.key, p.reason))
        return report
    finally:
        if lock is not None:
            os.close(lock)


def _take_lock(layout: CurationLayout) -> int | None:
    """The writer lock, so the shards cannot change during the check (None on a read-only folder)."""
    try:
        return layout.lock()
    except CurationError as err:
        cause = err.__cause__
        if isinstance(cause, OSError) and cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        if isinstance(cause, OSError):
            raise
        raise CurationError(f"{layout.root}: a siamfc curate is writing here; verify once it has finished "
                            "or been stopped") from None


Expected = tuple[bytes, int, int]  # (crop key, nbytes, crc) of a manifest entry


def _inventory(layout: CurationLayout, index: int, report: VerifyReport,
               records: list[tuple[bytes, bytes]]) -> list[Expected]:
    """Compare one shard's manifest rows with its crop keys; return the entries to read. Each intact snippet
    record is added to ``records`` as (key, value) for the digest."""
    path = layout.shard_path(index)
    expected: dict[bytes, tuple[int, int]] = {}
    try:
        check_shard(path, values=True)
        env = read_env(path)
        with env.begin(buffers=True) as txn:
            snippets_db = open_named_db(env, SNIPPETS_DB, txn)
            crops_db = open_named_db(env, CROPS_DB, txn)
            for key, value in txn.cursor(db=snippets_db) if snippets_db is not None else ():
                snippet_id = name_text(key)
                report.snippets += 1
                try:
                    value = bytes(value)
                    rows = decode_snippet_meta(value, snippet_id).records
                except ValueError as err:
                    report.problems.append(Problem(snippet_id, index, META_UNDECODABLE, str(err)))
                    continue
                if layout.shard_for(snippet_id) != index:
                    report.problems.append(Problem(snippet_id, index, WRONG_SHARD,
                                                   f"its id hashes to shard {layout.shard_for(snippet_id)}"))
                    continue
                records.append((bytes(key), value))
                for track, frame, nbytes, crc in zip(rows["track"].tolist(), rows["frame"].tolist(),
                                                     rows["nbytes"].tolist(), rows["crc"].tolist(), strict=True):
                    key = record_key(snippet_id, track, frame)
                    if key in expected:
                        report.problems.append(Problem(name_text(key), index, DUPLICATE, "two manifest rows"))
                    expected[key] = (nbytes, crc)
            present = set() if crops_db is None else {
                bytes(k) for k in txn.cursor(db=crops_db).iternext(keys=True, values=False)}
    except ShardError as err:
        report.problems.append(Problem(str(path), index, SHARD_UNREADABLE, err.cause))
        return []
    except lmdb.Error as err:
        report.problems.append(Problem(str(path), index, SHARD_UNREADABLE, lmdb_cause(err)))
        return []
    report.entries += len(expected)
    report.crops += len(present)
    report.problems += [Problem(name_text(k), index, MISSING, "manifest entry has no crop")
                        for k in sorted(expected.keys() - present)]
    report.problems += [Problem(name_text(k), index, ORPHAN, "crop has no manifest entry")
                        for k in sorted(present - expected.keys())]
    return sorted((k, n, c) for k, (n, c) in expected.items() if k in present)


def _digest(records: list[tuple[bytes, bytes]]) -> str:
    h = hashlib.sha256()
    for key, value in sorted(records):
        h.update(len(key).to_bytes(4, "little") + key + len(value).to_bytes(8, "little") + value)
    return h.hexdigest()


def _decode_all(reader: ShardReader, todo: list[tuple[int, list[Expected]]], report: VerifyReport,
                workers: int, progress: bool, chunk_size: int | None) -> None:
    total = sum(len(items) for _, items in todo)
    if chunk_size is None:  # enough chunks to balance the workers, few enough to keep dispatch cheap
        chunk_size = min(2000, max(64, total // (16 * max(workers, 1)) + 1))
    chunks = [(shard, items[i:i + chunk_size]) for shard, items in todo for i in range(0, len(items), chunk_size)]
    jobs = (delayed(_check_chunk)(reader, shard, items, report.checksums) for shard, items in chunks)
    parallel = local_parallel(workers)
    with tqdm(total=total, unit="crop", desc="verify", disable=not progress, smoothing=0.05) as bar:
        for checked, good, problems in parallel(jobs):
            report.decoded += good
            report.problems += problems
            bar.update(checked)
            bar.set_postfix(problems=len(report.problems), refresh=False)


def _check_chunk(reader: ShardReader, shard: int, items: list[Expected],
                 checksums: bool) -> tuple[int, int, list[Problem]]:
    """Read, checksum and decode each crop of a chunk: (checked, well-formed, problems)."""
    cv2.setNumThreads(1)  # parallelism is over chunks
    problems, good = [], 0
    expected_shape = (SEARCH_SIZE, SEARCH_SIZE, 3)
    for key, nbytes, crc in items:
        name = name_text(key)
        try:
            value = reader.get_in(shard, key)
        except (KeyError, CurationError, lmdb.Error) as err:
            problems.append(Problem(name, shard, MISSING, f"cannot read: {err}"))
            continue
        intact = not checksums or checksum(value) == crc
        if not intact:
            problems.append(Problem(name, shard, CHECKSUM_MISMATCH, "stored value differs from what was written"))
        if len(value) != nbytes:
            problems.append(Problem(name, shard, SIZE_MISMATCH, f"stored {len(value)} bytes, manifest says {nbytes}"))
        try:
            crop = decode_crop(value)
        except (ValueError, cv2.error) as err:
            problems.append(Problem(name, shard, UNDECODABLE, str(err)))
            continue
        if crop.shape != expected_shape:
            problems.append(Problem(name, shard, BAD_SHAPE, f"decodes to {'x'.join(map(str, crop.shape))}, "
                                                            f"expected {SEARCH_SIZE}x{SEARCH_SIZE}x3"))
            continue
        good += len(value) == nbytes and intact
    return len(items), good, problems
