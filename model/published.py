"""Published trackers' raw results, scored on our sequences with our metrics: ``siamfc eval --compare FOLDER``.

Papers and toolkits publish a tracker's boxes as one text file per sequence; this module reads such a folder,
matches its files to the evaluated sequences by name, and computes exactly the figures of our own report: the
boxes become the :class:`~siamfc.model.evaluate.SequenceResult` of each sequence and an
:class:`~siamfc.model.evaluate.EvalReport` scores them (:meth:`~siamfc.model.evaluate.EvalReport.summary`,
through :mod:`siamfc.model.metrics`), by the benchmark's rules as ours are (frames without a visible target, the
first box). Each published tracker is thus a summary dict that :func:`siamfc.model.eval_plots.plot_runs` draws
beside ours like a ``load_summary`` report, with the report JSON's ``per_sequence`` figures (which
:mod:`siamfc.model.attributes` reads for its per-attribute columns).

Layouts read (``PATH`` is the folder given):

- **got10k toolkit** (``ExperimentOTB``/``ExperimentUAV123``/``ExperimentNfS``/``ExperimentLaSOT``):
  ``<result_dir>/<dataset folder>/<tracker>/<seq>.txt``, boxes comma-separated (``np.savetxt(..., delimiter=',')``),
  times in ``<tracker>/times/<seq>_time.txt``. ``PATH`` may be the tracker's folder, the dataset folder holding
  several trackers (``OTB2015/``, ``NfS/30/``), or the toolkit's ``result_dir`` above it (the benchmark's
  ``result_dir`` parts are followed down from there, also from a ``results/`` folder in it: ``siamfc eval``'s
  ``--out``). GOT-10k's ``<tracker>/<seq>/<seq>_001.txt`` is read too. A ``<name>/`` folder beside a ``<name>.json``
  is a ``siamfc eval`` report's own boxes (0-based): left alone, compare the report's JSON instead.
- **LaSOT toolkit** (``utils/eval_tracker.m``: ``dlmread([rp_all t.name '_tracking_result/' s '.txt'])``):
  ``tracking_results/<tracker>_tracking_result/<seq>.txt``, commas or whitespace; the tracker is named without
  ``_tracking_result``. A plain ``<tracker>/<seq>.txt`` is the same.
- **pytracking** raw results (``evaluation/running.py``: ``np.savetxt(file, tracked_bb, delimiter='\\t')``):
  ``<seq>.txt`` tab-separated, ``<seq>_time.txt`` beside it; its sequence names carry a dataset prefix for UAV123
  and NfS (``uav_bike1``, ``nfs_Basketball``), which is dropped when matching, and name OTB's second targets
  ``Jogging_1``, ``Human4_2``.

Every file is one ``x, y, w, h`` box per frame, the numbers separated by commas, tabs or spaces (CRLF, a byte order
mark and blank lines at the end are fine); a ``NaN`` box (a tracker that reports losing the target) scores as a
failure on its frame. Boxes are in the dataset's own pixel base, as the toolkits compare them with the dataset's
ground truth unchanged: for a **1-based** benchmark (OTB, UAV123, LaSOT: ``benchmark.one_based``) 1 is subtracted
from ``x`` and ``y`` to reach our 0-based convention; NfS's and GOT-10k's are used as they are.

Matching: a sequence's file is ``<name>.txt`` where ``<name>`` is its whole name with ``/`` as ``_``, or its last
part (``airplane-1`` for ``airplane/airplane-1``), compared ignoring case; failing that, ignoring case and the
characters ``. - _`` (got10k's ``Jogging.1`` is pytracking's ``Jogging_1`` and the OTB toolkit's ``Jogging-1``),
with pytracking's ``uav_``/``nfs_`` prefix dropped; OTB's ``Human4`` (its ``groundtruth_rect.2.txt``) also takes
``Human4_2``. Two files that match one sequence equally well leave it out, both named.

What is reported, one line each (:attr:`PublishedRuns.lines`; a tracker with something left out is also
warned about, which ``siamfc eval`` prints one line each):

- each tracker: the sequences it is compared on, out of those evaluated;
- a sequence without a file (``missing``), with a file whose box count differs from the sequence's frames (``short``
  or ``long``), or with a line that is not 4 numbers (file and line named): left out for that tracker, which is
  **compared on the sequences it has**; its legend name then says on how many (``SiamRPN (98/100)``), since figures
  over fewer sequences are not the same comparison;
- a tracker with no usable sequence: skipped, in one line.

Speed: fps from the time files when every compared sequence has one of the right length, else ``None``; the
"with decoding" fps is never known for a published tracker (``None``).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siamfc.curate.errors import BadInput, UserError
from siamfc.curate.sources.text_files import content_lines

from . import metrics
from .eval_sequences import EvalSequence
from .evaluate import EvalReport, SequenceResult

LASOT_SUFFIX = "_tracking_result"  # the LaSOT toolkit's tracker folders: <tracker>_tracking_result/
PYTRACKING_PREFIXES = ("uav_", "nfs_")  # pytracking's sequence names for UAV123 and NfS
ALIASES = {"human4": ("human42",)}  # OTB's Human4 is its groundtruth_rect.2.txt: pytracking's Human4_2
TIME_SUFFIX = "_time"
_SEPARATORS = re.compile(r"[,\t ]+")
_IGNORED = re.compile(r"[-_. ]")
_NAMED = 5  # sequences named in a tracker's line; the rest counted
PROBLEMS = {"missing": "without a result file", "short": "with fewer boxes than frames",
            "long": "with more boxes than frames", "malformed": "with an unreadable result file",
            "ambiguous": "matched by two files"}  # kind -> what the tracker's line says


@dataclass
class PublishedTracker:
    """What was read of one tracker's folder: its name, the files matched to sequences, and what was left out."""

    name: str
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # sequence name -> box file
    problems: dict[str, list[str]] = field(default_factory=dict)  # kind -> lines (missing, short, long, ...)


class PublishedResultsWarning(UserWarning):
    """What was left out of a published tracker's comparison (the CLI prints each as one line)."""


class PublishedRuns(list):
    """The published trackers' summary dicts (the keys of :meth:`EvalReport.summary`, plus ``per_sequence``,
    ``tracker``, ``source``, ``published``, ``compared_on``, ``evaluated``, ``left_out``), in folder order: each
    goes to :func:`~siamfc.model.eval_plots.plot_runs` like a :func:`~siamfc.model.evaluate.load_summary` dict.
    :attr:`lines` says what was compared and what was left out, one line each, skipped trackers included."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.lines: list[str] = []

    def named(self) -> dict[str, dict]:
        """Tracker name -> summary."""
        return {run["tracker"]: run for run in self}


def load_published(path: str | Path, benchmark: Any, sequences: list[EvalSequence] | None) -> PublishedRuns:
    """Every tracker of the published results folder ``path`` (see the module docstring for the layouts), scored on
    ``sequences`` (the evaluated sequences: their ground truth is what the boxes are scored against) into a
    :class:`PublishedRuns`, a list of summary dicts that :func:`~siamfc.model.eval_plots.plot_runs` takes like
    :func:`~siamfc.model.evaluate.load_summary` ones. Each tracker compared on fewer sequences than given, and
    each skipped, is also warned about (:class:`PublishedResultsWarning`, one line each: what was left out).

    ``benchmark``: a benchmark registry entry or its name (:data:`siamfc.curate.benchmarks.BENCHMARKS`; ``name``,
    ``result_dir``, ``one_based``), or None to take each sequence's own. Raises FileNotFoundError for a missing
    ``path`` and ValueError without sequences or (naming ``path`` and what was looked for) when no file in it
    matches any sequence.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder of published results")
    if not sequences:
        raise UserError(f"--compare {root}: published results are scored against a benchmark's ground truth; "
                         "give --dataset (and --benchmark) with it")
    benchmark = _registry(benchmark) if isinstance(benchmark, str) else benchmark
    folders = tracker_folders(root, benchmark, sequences)
    if not folders:
        example = ", ".join(f"{_short(s.name)}.txt" for s in sequences[:3])
        raise UserError(f"{root}: no published result file matches any of the {len(sequences)} sequences "
                         f"(looked for {example} ... in it, in {_result_dir_text(benchmark)} below it, and in each "
                         "tracker folder of it)")
    runs = PublishedRuns()
    seen: dict[str, int] = {}
    for folder in folders:
        tracker = match_files(folder, sequences)
        name = tracker.name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two folders of one name (pytracking's <tracker>/<param>/ under two trackers)
            tracker.name = name = f"{folder.parent.name}/{folder.name}"
        summary = _score(tracker, benchmark, sequences, str(root))
        lines = _tracker_lines(tracker, summary, len(sequences))
        runs.lines += lines
        if summary is None or summary["compared_on"] < len(sequences):
            for line in lines:
                warnings.warn(line.strip(), PublishedResultsWarning, stacklevel=2)
        if summary is not None:
            runs.append(summary)
    return runs


def _registry(name: str) -> Any:
    """The registry's benchmark called ``name`` (None without a registry or such a name)."""
    try:
        from siamfc.curate.benchmarks import BENCHMARKS
    except ImportError:
        return None
    return BENCHMARKS.get(name)


def tracker_folders(root: Path, benchmark: Any, sequences: list[EvalSequence]) -> list[Path]:
    """The tracker folders of ``root``: itself when it holds result files of the sequences, else (below the
    benchmark's ``result_dir`` parts when ``root`` is the toolkit's result folder) each subfolder that does."""
    if _holds_results(root, sequences):
        return [root]
    base = root
    for start in (root, root / "results"):  # the toolkit's result_dir, or siamfc eval's --out holding it
        below = start
        for part in tuple(getattr(benchmark, "result_dir", ()) or ()):
            if (below / part).is_dir():
                below = below / part
        if below != start:
            base = below
            break
    if base != root and _holds_results(base, sequences):
        return [base]
    found = []
    for sub in _subfolders(base):
        if (base / f"{sub.name}.json").is_file():  # a siamfc eval report's own 0-based boxes: compare its JSON
            continue
        if _holds_results(sub, sequences):
            found.append(sub)
        else:  # pytracking: <tracker>/<parameter>/<seq>.txt
            found += [s for s in _subfolders(sub) if _holds_results(s, sequences)]
    return found


def _subfolders(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and p.name != "times"), key=lambda p: p.name)


def _holds_results(folder: Path, sequences: list[EvalSequence]) -> bool:
    index = _file_index(folder)
    return any(_find(index, s) for s in sequences)


def tracker_name(folder: Path) -> str:
    """The tracker's name: its folder's, without the LaSOT toolkit's ``_tracking_result``."""
    name = folder.name
    return name[: -len(LASOT_SUFFIX)] if name.endswith(LASOT_SUFFIX) and len(name) > len(LASOT_SUFFIX) else name


def _key(text: str) -> str:
    return _IGNORED.sub("", text.casefold())


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _file_index(folder: Path) -> dict[str, list[Path]]:
    """Result files of a folder by name: ``exact:<casefolded stem>`` and ``loose:<key>`` -> files (time files
    left out; GOT-10k's ``<seq>/<seq>_001.txt`` under its sequence's name)."""
    index: dict[str, list[Path]] = {}
    files = [p for p in folder.glob("*.txt") if p.is_file() and not p.stem.endswith(TIME_SUFFIX)]
    files += [p / f"{p.name}_001.txt" for p in folder.iterdir() if p.is_dir() and (p / f"{p.name}_001.txt").is_file()]
    for p in sorted(files):
        stem = p.parent.name if p.name.endswith("_001.txt") and p.parent != folder else p.stem
        index.setdefault("exact:" + stem.casefold(), []).append(p)
        loose = stem.casefold()
        for prefix in PYTRACKING_PREFIXES:
            if loose.startswith(prefix) and len(loose) > len(prefix):
                loose = loose[len(prefix):]
        index.setdefault("loose:" + _key(loose), []).append(p)
    return index


def _find(index: dict[str, list[Path]], seq: EvalSequence) -> list[Path]:
    """The files matching ``seq``, best match first (see the module docstring); several only when ambiguous."""
    names = [seq.name.replace("/", "_"), _short(seq.name)]
    for name in names:
        hits = index.get("exact:" + name.casefold())
        if hits:
            return hits
    keys = [_key(n) for n in names]
    keys += [alias for k in keys for alias in ALIASES.get(k, ())]
    for key in keys:
        hits = index.get("loose:" + key)
        if hits:
            return hits
    return []


def match_files(folder: Path, sequences: list[EvalSequence]) -> PublishedTracker:
    """Each sequence's result file in ``folder``; the sequences without one, or with two candidates, recorded."""
    tracker = PublishedTracker(tracker_name(folder), folder)
    index = _file_index(folder)
    for seq in sequences:
        hits = _find(index, seq)
        if len(hits) == 1:
            tracker.files[seq.name] = hits[0]
        elif hits:
            tracker.problems.setdefault("ambiguous", []).append(
                f"{seq.name}: {len(hits)} files match ({', '.join(p.name for p in hits)})")
        else:
            tracker.problems.setdefault("missing", []).append(seq.name)
    return tracker


class ResultFileError(UserError):
    """A published result file that cannot be used; the message names the file (and line)."""


def read_result_file(path: Path) -> np.ndarray:
    """The ``[N, 4]`` boxes of a result file as written (commas, tabs or spaces; ``NaN`` allowed: a lost target);
    :class:`ResultFileError` naming the file and line of a row that is not 4 numbers, or an empty file."""
    try:
        lines = content_lines(path)
    except BadInput as bad:
        raise ResultFileError(bad.detail) from None
    if not lines:
        raise ResultFileError(f"{path}: empty file")
    rows = []
    for number, line in enumerate(lines, 1):
        fields = [f for f in _SEPARATORS.split(line.strip()) if f]
        try:
            row = [float(f) for f in fields]
        except ValueError:
            row = []
        if len(row) != 4 or any(math.isinf(v) for v in row):
            shown = repr(line.strip()) if line.strip() else "an empty line"
            raise ResultFileError(f"{path}, line {number}: {shown} is not 4 numbers x,y,w,h")
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def _times(box_file: Path, frames: int) -> np.ndarray | None:
    """Seconds per frame from the time file beside the boxes (got10k: ``times/<seq>_time.txt``; pytracking:
    ``<seq>_time.txt``), or None when there is none of ``frames`` finite values."""
    stem = box_file.stem[: -len("_001")] if box_file.stem.endswith("_001") else box_file.stem
    for candidate in (box_file.parent / "times" / f"{stem}{TIME_SUFFIX}.txt",
                      box_file.parent / f"{stem}{TIME_SUFFIX}.txt"):
        if candidate.is_file():
            try:
                values = np.array([float(v) for line in content_lines(candidate)
                                   for v in _SEPARATORS.split(line.strip()) if v], dtype=np.float64)
            except (BadInput, ValueError):
                return None
            return values if len(values) == frames and np.all(np.isfinite(values)) else None
    return None


def _benchmark(benchmark: Any, seq: EvalSequence) -> Any:
    """The benchmark given, else the registry's entry the sequence names (None without a registry)."""
    return benchmark if benchmark is not None else _registry(getattr(seq, "benchmark", ""))


def _one_based(benchmark: Any, seq: EvalSequence) -> bool:
    value = getattr(_benchmark(benchmark, seq), "one_based", None)
    return bool(seq.one_based if value is None else value)


def sequence_figures(boxes: np.ndarray, seq: EvalSequence) -> metrics.Curves:
    """The per-frame curves of ``boxes`` (0-based) on ``seq``, as our own run's :class:`SequenceResult` holds them
    (:func:`~siamfc.model.metrics.sequence_curves`); the report applies the benchmark's rule for frames without a
    visible target from there, to published boxes exactly as to ours. ValueError when no frame is annotated."""
    return metrics.sequence_curves(boxes, seq.gt)


def _score(tracker: PublishedTracker, benchmark: Any, sequences: list[EvalSequence],
           source: str) -> dict | None:
    """The tracker's summary over the sequences whose file is usable (problems recorded), or None without any."""
    results, all_times = [], True
    for seq in sequences:
        path = tracker.files.get(seq.name)
        if path is None:
            continue
        try:
            boxes = read_result_file(path)
        except ResultFileError as err:
            tracker.problems.setdefault("malformed", []).append(str(err))
            continue
        if len(boxes) != len(seq.gt):
            kind = "short" if len(boxes) < len(seq.gt) else "long"
            tracker.problems.setdefault(kind, []).append(f"{path}: {len(boxes)} boxes for {len(seq.gt)} frames")
            continue
        if _one_based(benchmark, seq):
            boxes[:, :2] -= 1
        times = _times(path, len(boxes))
        all_times &= times is not None
        try:
            curves = sequence_figures(boxes, seq)
        except ValueError as err:  # no frame to score
            tracker.problems.setdefault("malformed", []).append(f"{path}: {err}")
            continue
        results.append(SequenceResult(seq, boxes, np.zeros(len(boxes)) if times is None else times, 0.0, curves))
    if not results:
        return None
    total = len(sequences)
    name = tracker.name if len(results) == total else f"{tracker.name} ({len(results)}/{total})"
    report = EvalReport(name, source, results)
    data = report.to_json()
    left_out = {kind: lines for kind, lines in tracker.problems.items() if lines}
    data.update(fps=report.fps if all_times else None, fps_with_decoding=None, source=str(tracker.folder),
                published=True, tracker=tracker.name, compared_on=len(results), evaluated=total,
                left_out=left_out)
    for figures in data["per_sequence"].values():
        if not all_times:
            figures["fps"] = None
    return data


def _tracker_lines(tracker: PublishedTracker, summary: dict | None, total: int) -> list[str]:
    """One line for the tracker (compared on how many, or skipped), then one per kind of problem."""
    if summary is None:
        head = (f"published {tracker.name} ({tracker.folder}): skipped, no usable result file for any of the "
                f"{total} sequences")
    else:
        head = (f"published {tracker.name} ({tracker.folder}): compared on {summary['compared_on']} of {total} "
                f"sequences, success AUC {summary['auc']:.3f} | precision@20px {summary['precision_20']:.3f}")
    out = [head]
    for kind, items in tracker.problems.items():
        more = f"; and {len(items) - _NAMED} more" if len(items) > _NAMED else ""
        what = PROBLEMS.get(kind, kind)
        out.append(f"  {tracker.name}: {len(items)} sequence{'s' if len(items) > 1 else ''} {what}, left out: "
                   f"{'; '.join(items[:_NAMED])}{more}")
    return out


def _result_dir_text(benchmark: Any) -> str:
    parts = tuple(getattr(benchmark, "result_dir", ()) or ())
    return "/".join(parts) + "/" if parts else "the benchmark's result folder"
