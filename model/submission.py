"""Server packs: the zip GOT-10k's and TrackingNet's evaluation servers take for their test splits, and the check
that runs before one is written, since neither server says why it rejects a submission.

What the servers take (evidence in the README's "Submitting to the GOT-10k and TrackingNet servers"):

- **GOT-10k** (``got10k`` toolkit, ``ExperimentGOT10k.report`` on ``subset='test'``): the toolkit zips the folder
  ``<result_dir>/GOT-10k/<tracker>`` from inside it, so the zip's top level holds one folder per test sequence,
  ``<seq>/<seq>_001.txt`` (one ``x,y,w,h`` per frame, comma-separated: toolkit issue #21, space-separated boxes
  were not scored) and ``<seq>/<seq>_time.txt`` (one line per frame, one time per repetition); no parent folder
  (toolkit issue #3: a zip with the results one folder deeper went unscored until the maintainers fixed it by
  hand). Repetitions ``_002``, ``_003`` (a stochastic tracker) are packed when present. GOT-10k's test split has
  180 sequences, ``GOT-10k_Test_000001`` to ``GOT-10k_Test_000180``.
- **TrackingNet** (the devkit's ``metrics.py``, the code the server runs): every ``.txt`` in the zip, read with
  ``sep=","``, matched to a test video when the file's path contains ``<video>.txt``; a video without exactly one
  match scores zero. Its maintainer (devkit issue #12): no extra folder inside the zip, commas between values, one
  box per line. The zip holds ``<video>.txt`` at its root, one per test video (511). ("There is no YAML file in
  zip", devkit issues #12, #13, #26, is the server's answer to a zip uploaded as a new *challenge* instead of a
  submission to the TrackingNet challenge, not a problem of the zip.)

Both servers replace (TrackingNet) or skip (GOT-10k) the first frame; a first box that differs from the given one
still means the file belongs to another sequence or is 1-based, so the check compares it.

The results read are a folder in the toolkit layout (what ``siamfc eval`` writes under ``OUT/results``:
``GOT-10k/<tracker>/<seq>/<seq>_001.txt``; for TrackingNet ``TrackingNet/<tracker>/<video>.txt`` as got10k writes
OTB results, or any flat folder of ``<video>.txt``), found from ``OUT``, ``OUT/results``, the benchmark folder or
the tracker folder, or a zip (checked as the server would see it: nothing is looked for below its root).
:func:`check_results` lists every problem, one line each; :func:`write_pack` writes the zip.
:func:`training_data` says whether weights were trained on GOT-10k's train split only, as GOT-10k's test protocol
asks, from the run folder's ``config.json`` and the curations it names.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from siamfc.curate.atomic import atomic_write
from siamfc.curate.errors import UserError

GOT10K, TRACKINGNET = "got10k", "trackingnet"
BENCHMARKS = {GOT10K: "GOT-10k", TRACKINGNET: "TrackingNet"}  # benchmark -> its toolkit result folder and title
TEST_SIZE = {GOT10K: 180, TRACKINGNET: 511}  # test sequences each server scores
FIRST_BOX_TOLERANCE = 0.5  # pixels: rounding of either file; a 1-based file is 1 px off
_RECORD = re.compile(r"(?P<seq>.+)_(?P<rep>[0-9]{3})\.txt")  # GOT-10k: <seq>_001.txt
_TIME = re.compile(r"(?P<seq>.+)_time\.txt")
_IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")  # what zip tools add; never a result


@dataclass(frozen=True)
class TestSequence:
    """One test sequence a server scores: its name, the file whose first line is its given first box and its
    frame count (None: unknown, no dataset given)."""

    name: str
    first_box_file: Path | None = None
    frames: int | None = None


def test_sequences(benchmark: str, root: str | Path) -> list[TestSequence]:
    """The test sequences under a dataset root, read through the benchmark's source module (CurationError naming
    the root when it has none)."""
    from siamfc.curate.sources import got10k, trackingnet

    rows = got10k.test_sequences(root) if benchmark == GOT10K else trackingnet.test_videos(root)
    return [TestSequence(name, path, frames or None) for name, path, frames in rows]


def default_sequences(benchmark: str) -> list[TestSequence] | None:
    """Without a dataset: GOT-10k's test sequences by name (their names are numbered); None for TrackingNet."""
    if benchmark == GOT10K:
        return [TestSequence(f"GOT-10k_Test_{i:06d}") for i in range(1, TEST_SIZE[GOT10K] + 1)]
    return None


# -- the results: a folder or a zip, as relative paths ------------------------------------------------------------
@dataclass
class Results:
    """The ``.txt`` files of a results folder or zip: relative POSIX path -> a function reading its bytes."""

    where: Path  # the folder holding the results (after the toolkit names), or the zip
    is_zip: bool
    files: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    others: int = 0  # files that are not .txt (left out)


def open_results(path: str | Path, benchmark: str | None = None) -> Results:
    """The results at ``path``: a zip, or a folder searched down the toolkit's names (``results``, the benchmark's
    folder, its one tracker folder) to the one holding the results. ValueError naming the path when it is neither,
    or when a benchmark folder holds several trackers."""
    path = Path(path)
    if path.is_file():
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise UserError(f"{path}: not a zip file nor a folder ({err})") from None
        out = Results(path, True)
        for info in archive.infolist():
            if info.is_dir() or _IGNORED.search(info.filename):
                continue
            if info.filename.lower().endswith(".txt"):
                out.files[info.filename] = lambda name=info.filename: archive.read(name)
            else:
                out.others += 1
        return out
    if not path.is_dir():
        raise UserError(f"{path}: no such folder or zip file")
    folder = _results_folder(path, benchmark)
    out = Results(folder, False)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(folder).as_posix()
            if _IGNORED.search(rel):
                continue
            if name.lower().endswith(".txt"):
                out.files[rel] = full.read_bytes
            else:
                out.others += 1
    return out


def _results_folder(path: Path, benchmark: str | None) -> Path:
    """Down from ``path`` through ``results/``, ``GOT-10k/`` or ``TrackingNet/`` and a benchmark folder's one tracker
    folder, while the folder holds no results of its own."""
    folder = path
    for _ in range(3):
        if _holds_results(folder, benchmark):
            return folder
        names = ["results", *([BENCHMARKS[benchmark]] if benchmark else BENCHMARKS.values())]
        below = next((folder / n for n in names if (folder / n).is_dir()), None)
        if below is None and folder.name in BENCHMARKS.values():
            trackers = sorted(p.name for p in folder.iterdir() if p.is_dir())
            if len(trackers) > 1:
                raise UserError(f"{folder}: results of {len(trackers)} trackers ({', '.join(trackers)}); give one "
                                 f"tracker's folder, e.g. {folder / trackers[0]}")
            below = folder / trackers[0] if trackers else None
        if below is None:
            return folder
        folder = below
    return folder


def _holds_results(folder: Path, benchmark: str | None) -> bool:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    if benchmark != TRACKINGNET and any(e.is_dir() and (Path(e.path) / f"{e.name}_001.txt").is_file()
                                        for e in entries):
        return True
    return benchmark != GOT10K and any(e.is_file() and e.name.lower().endswith(".txt") for e in entries)


def guess_benchmark(results: Results) -> str:
    """GOT-10k when the results hold ``<seq>/<seq>_001.txt`` files, else TrackingNet."""
    for rel in results.files:
        parts = rel.split("/")
        found = _RECORD.fullmatch(parts[-1])
        if len(parts) > 1 and found and found["seq"] == parts[-2]:
            return GOT10K
    return TRACKINGNET


# -- the check ------------------------------------------------------------------------------------------------
@dataclass
class Checked:
    """What :func:`check_results` found: the zip's content (name -> reader), the problems (one line each; any
    problem means no zip) and notes (nothing wrong with the pack)."""

    benchmark: str
    results: Results
    members: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sequences: int = 0


def check_results(results: Results, benchmark: str, sequences: list[TestSequence] | None) -> Checked:
    """Check ``results`` against the benchmark's test ``sequences`` (None: no dataset given; GOT-10k's then come by
    name, TrackingNet's are whatever is found): every sequence present, at the zip's root as the server wants, one
    comma-separated box of finite numbers with positive size per frame, the first box the given one."""
    checked = Checked(benchmark, results)
    if sequences is None:
        sequences = default_sequences(benchmark)
        checked.notes.append("no --dataset: " + (
            f"the test sequences are taken by name ({TEST_SIZE[GOT10K]}, GOT-10k_Test_000001 to "
            f"GOT-10k_Test_{TEST_SIZE[GOT10K]:06d}); frame counts (but for the time files) and first boxes are not "
            "checked" if benchmark == GOT10K else
            f"the videos are the files found; which videos (the server scores {TEST_SIZE[TRACKINGNET]}), frame "
            "counts and first boxes are not checked"))
    found = _found_got10k(results) if benchmark == GOT10K else _found_trackingnet(results)
    if sequences is None:  # TrackingNet without a dataset: the videos found, at their most common depth
        prefix = _main_prefix(found)
        sequences = [TestSequence(name) for name in sorted(found) if prefix in found[name]]
        if len(sequences) != TEST_SIZE[TRACKINGNET]:
            checked.notes.append(f"{len(sequences)} videos found; TrackingNet's test split has "
                                 f"{TEST_SIZE[TRACKINGNET]}")
    checked.sequences = len(sequences)
    expected = {s.name for s in sequences}
    present = {name: prefixes for name, prefixes in found.items() if name in expected}
    prefix = _main_prefix(present)
    where = "the zip" if results.is_zip else str(results.where)
    if prefix:
        depth = prefix.count("/")
        fix = (f"zip the content of {prefix}, not the folder" if results.is_zip
               else f"give {results.where / prefix.rstrip('/')} as RESULTS")
        checked.problems.append(
            f"{where}: the results are {'one folder' if depth == 1 else f'{depth} folders'} too deep, under "
            f"{prefix!r}: the server wants {'the sequence folders' if benchmark == GOT10K else 'the <video>.txt files'}"
            f" at the zip's top level, no {prefix.split('/')[0]}/ around them; {fix}")
    for seq in sequences:
        prefixes = found.get(seq.name, {})
        if prefix not in prefixes:
            checked.problems.append(_missing(seq.name, prefixes, prefix, benchmark))
            continue
        lines = (_check_got10k(checked, seq, prefix + seq.name + "/", prefixes[prefix]) if benchmark == GOT10K
                 else _check_trackingnet(checked, seq, prefix, prefixes[prefix]))
        checked.problems += [f"{seq.name}: {line}" for line in lines]
    unused = sorted(set(found) - expected)
    if unused:
        kind = "sequence folders" if benchmark == GOT10K else ".txt files"
        checked.notes.append(f"{len(unused)} {kind} of no test sequence left out of the pack: "
                             + ", ".join(unused[:3]) + (", ..." if len(unused) > 3 else ""))
    if benchmark == TRACKINGNET:
        checked.notes += _name_clashes(list(checked.members))
    return checked


def _found_got10k(results: Results) -> dict[str, dict[str, dict[str, str]]]:
    """sequence -> {prefix of its folder -> {file name -> relative path}} for ``<prefix><seq>/<seq>_NNN.txt`` and
    ``_time.txt``."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for rel in results.files:
        parts = rel.split("/")
        if len(parts) < 2:
            continue
        match = _RECORD.fullmatch(parts[-1]) or _TIME.fullmatch(parts[-1])
        if match and match["seq"] == parts[-2]:
            prefix = "/".join(parts[:-2]) + "/" if len(parts) > 2 else ""
            found.setdefault(parts[-2], {}).setdefault(prefix, {})[parts[-1]] = rel
    return found


def _found_trackingnet(results: Results) -> dict[str, dict[str, dict[str, str]]]:
    """video -> {prefix of its file -> {file name -> relative path}} for every ``<prefix><video>.txt`` outside a
    ``times/`` folder (time files of the OTB layout) and not a ``*_time.txt``."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for rel in results.files:
        parts = rel.split("/")
        if "times" in parts[:-1] or parts[-1].endswith("_time.txt") or not parts[-1].endswith(".txt"):
            continue
        prefix = "/".join(parts[:-1]) + "/" if len(parts) > 1 else ""
        found.setdefault(parts[-1][:-4], {}).setdefault(prefix, {})[parts[-1]] = rel
    return found


def _main_prefix(found: dict[str, dict[str, dict[str, str]]]) -> str:
    """The folder most sequences' results are in ("" for the root; the root wins a tie)."""
    counts: dict[str, int] = {}
    for prefixes in found.values():
        for prefix in prefixes:
            counts[prefix] = counts.get(prefix, 0) + 1
    return max(counts, key=lambda p: (counts[p], p == "", -len(p)), default="")


def _missing(name: str, prefixes: dict[str, dict[str, str]], prefix: str, benchmark: str) -> str:
    expected = f"{prefix}{name}/{name}_001.txt" if benchmark == GOT10K else f"{prefix}{name}.txt"
    if prefixes:
        other = sorted(prefixes, key=len)[0]
        return (f"{name}: missing: no {expected}; its results are at {other}{name}"
                f"{'/' if benchmark == GOT10K else '.txt'}, where the server does not look")
    return f"{name}: missing: no {expected}"


def _check_got10k(checked: Checked, seq: TestSequence, folder: str, files: dict[str, str]) -> list[str]:
    results, problems = checked.results, []
    records = sorted(n for n in files if _RECORD.fullmatch(n))
    time_name = f"{seq.name}_time.txt"
    if f"{seq.name}_001.txt" not in files:
        return [f"missing {folder}{seq.name}_001.txt (found {', '.join(sorted(files))}); the server reads "
                "repetition 001"]
    time_rows = None
    if time_name not in files:
        problems.append(f"missing {folder}{time_name} (one line per frame: the seconds the tracker took)")
    else:
        text = _text(results.files[files[time_name]]())
        time_rows, problem = _time_rows(text, time_name, len(records))
        if problem:
            problems.append(problem)
        elif seq.frames is not None and time_rows != seq.frames:
            problems.append(f"{time_name}: {time_rows} lines for {seq.frames} frames (the dataset's frame files); "
                            "the server wants one line per frame")
    counts = []
    for name in records:
        boxes, problem = _boxes(_text(results.files[files[name]]()), name)
        if problem:
            problems.append(problem)
            continue
        counts.append(len(boxes))
        problems += _against_dataset(boxes, seq, name, time_rows, time_name)
    if not problems:
        for name in [*records, time_name]:
            checked.members[f"{seq.name}/{name}"] = results.files[files[name]]
    return problems


def _check_trackingnet(checked: Checked, seq: TestSequence, prefix: str, files: dict[str, str]) -> list[str]:
    name = f"{seq.name}.txt"
    read = checked.results.files[files[name]]
    boxes, problem = _boxes(_text(read()), prefix + name)
    if problem:
        return [problem]
    problems = _against_dataset(boxes, seq, prefix + name, None, None)
    if not problems:
        checked.members[name] = read
    return problems


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _content(text: str) -> list[str]:
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _separator_problem(line: str) -> str | None:
    """How a line that is not comma-separated is separated, when its fields are numbers."""
    fields = line.split()
    try:
        [float(f) for f in fields]
    except ValueError:
        return None
    if "," in line or len(fields) < 2:
        return None
    return "tab-separated" if "\t" in line.strip() else "space-separated"


def _boxes(text: str | None, name: str) -> tuple[list[tuple[float, ...]], str | None]:
    """The boxes of a result file, or the first problem (with the count of further bad lines)."""
    if text is None:
        return [], f"{name}: not a text file"
    lines = _content(text)
    if not lines:
        return [], f"{name}: empty file (one box x,y,w,h per frame expected)"
    boxes, bad = [], []
    for number, line in enumerate(lines, 1):
        problem = _box_problem(line)
        if problem:
            bad.append(f"{name}, line {number}: {problem}")
        else:
            boxes.append(tuple(float(f) for f in line.split(",")))
    if bad:
        more = f" (and {len(bad) - 1} more bad line{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        return [], bad[0] + more
    return boxes, None


def _box_problem(line: str) -> str | None:
    shown = repr(line.strip()) if line.strip() else None
    if shown is None:
        return "blank line inside the file (every later box would belong to the frame before)"
    separated = _separator_problem(line)
    if separated:
        return (f"{shown} is {separated}; the server reads comma-separated x,y,w,h (got10k toolkit issue #21, "
                "TrackingNet devkit issue #12)")
    fields = line.split(",")
    try:
        values = [float(f) for f in fields]
    except ValueError:
        values = []
    if len(fields) != 4 or len(values) != 4:
        return f"{shown} is not 4 comma-separated numbers x,y,w,h"
    if not all(math.isfinite(v) for v in values):
        return f"{shown} holds NaN or an infinite value"
    if not (values[2] > 0 and values[3] > 0):
        return f"{shown} has a width or height that is not positive"
    return None


def _time_rows(text: str | None, name: str, repetitions: int) -> tuple[int | None, str | None]:
    """Lines of a GOT-10k time file, or its first problem: one line per frame, one finite time >= 0 per
    repetition, comma-separated."""
    if text is None:
        return None, f"{name}: not a text file"
    lines = _content(text)
    if not lines:
        return None, f"{name}: empty file (one time per frame expected)"
    for number, line in enumerate(lines, 1):
        where = f"{name}, line {number}"
        if not line.strip():
            return None, f"{where}: blank line inside the file"
        separated = _separator_problem(line)
        if separated and len(line.split()) > 1:
            return None, f"{where}: {line.strip()!r} is {separated}; the server reads comma-separated values"
        try:
            values = [float(f) for f in line.split(",")]
        except ValueError:
            return None, f"{where}: {line.strip()!r} is not comma-separated numbers"
        if not all(math.isfinite(v) and v >= 0 for v in values):
            return None, f"{where}: {line.strip()!r}: a time is NaN, infinite or negative"
        if len(values) != repetitions:
            return None, (f"{where}: {len(values)} time{'s' if len(values) > 1 else ''} for {repetitions} "
                          f"repetition{'s' if repetitions > 1 else ''} (_001.txt ...)")
    return len(lines), None


def _against_dataset(boxes: list[tuple[float, ...]], seq: TestSequence, name: str, time_rows: int | None,
                     time_name: str | None) -> list[str]:
    problems = []
    if seq.frames is not None and len(boxes) != seq.frames:
        problems.append(f"{name}: {len(boxes)} boxes for {seq.frames} frames (the dataset's frame files); the "
                        "server wants one box per frame")
    if seq.frames is None and time_rows is not None and len(boxes) != time_rows:  # no frame count to go by
        problems.append(f"{name}: {len(boxes)} boxes but {time_name} has {time_rows} lines (one each per frame)")
    if seq.first_box_file is not None:
        given, problem = _first_box(seq.first_box_file)
        if problem:
            problems.append(problem)
        elif max(abs(a - b) for a, b in zip(boxes[0], given, strict=True)) > FIRST_BOX_TOLERANCE:
            shown = ",".join(f"{v:g}" for v in boxes[0])
            problems.append(f"{name}, line 1: {shown} is not the given first box {','.join(f'{v:g}' for v in given)} "
                            f"({seq.first_box_file}, line 1) within {FIRST_BOX_TOLERANCE} px: results of another "
                            "sequence, or 1-based boxes?")
    return problems


def _first_box(path: Path) -> tuple[tuple[float, ...], str | None]:
    from siamfc.curate.errors import BadInput
    from siamfc.curate.sources.text_files import content_lines, parse_box

    try:
        lines = content_lines(path)
        if not lines:
            return (), f"{path}: empty; the dataset gives no first box"
        return parse_box(lines[0], path, 1), None
    except BadInput as bad:
        return (), f"{bad.detail} (the dataset's first box)"


def _name_clashes(names: list[str]) -> list[str]:
    """TrackingNet's server matches a video's file by ``<video>.txt`` appearing in a zip member's path: names where
    that finds two files (the server then scores the video as missing)."""
    out = []
    for name in names:
        others = [n for n in names if n != name and name in n]
        if others:
            out.append(f"{name} is also part of the name {others[0]}: TrackingNet's server (metrics.py) finds "
                       f"{name[:-4]}'s file by that text and may score it as missing")
    return out


# -- the zip ---------------------------------------------------------------------------------------------------
def write_pack(checked: Checked, out: str | Path) -> Path:
    """The zip of a check without problems (ValueError otherwise), written atomically: GOT-10k's sequence folders or
    TrackingNet's files at its top level, in name order."""
    if checked.problems:
        raise UserError(f"{len(checked.problems)} problem(s) in the results: no zip written")
    out = Path(out)
    folders = sorted({name.rsplit("/", 1)[0] + "/" for name in checked.members if "/" in name})
    with atomic_write(out, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in folders:  # folder entries first, as the toolkit's zip (shutil.make_archive) has them
            archive.writestr(_entry(name, 0o40755), b"")
        for name in sorted(checked.members):
            archive.writestr(_entry(name, 0o100644), checked.members[name](), zipfile.ZIP_DEFLATED)
    return out


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry with a fixed date (the same results give the same zip) and Unix permissions."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (mode << 16) | (0x10 if name.endswith("/") else 0)  # 0x10: MS-DOS directory flag
    return info


# -- what the weights were trained on -----------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingData:
    """Whether weights were trained on GOT-10k's train split only: ``ok`` True (yes), False (no, ``line`` says on
    what else) or None (cannot be checked, ``line`` says why)."""

    ok: bool | None
    line: str


def weights_of_eval(results: Results) -> Path | None:
    """The weights ``siamfc eval`` recorded for the results in ``OUT/results/GOT-10k/<name>``: ``OUT/<name>.json``'s
    ``weights``; None when the results are not such a folder or the report does not name them."""
    folder = results.where
    if results.is_zip or len(folder.parents) < 3 or folder.parent.name not in BENCHMARKS.values():
        return None
    report = folder.parents[2] / f"{folder.name}.json"
    try:
        weights = json.loads(report.read_text()).get("weights")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(weights) if isinstance(weights, str) and weights else None


def training_data(weights: str | Path) -> TrainingData:
    """What the run folder of ``weights`` (its ``config.json``: the curations trained on) and those curations
    (``curation.json``'s source, ``plan.json``'s snippet ids, whose first part is the split) say about the training
    data, against GOT-10k's test protocol (GOT-10k's train split only)."""
    from siamfc.curate.errors import CurationError
    from siamfc.curate.folder import CurationLayout
    from siamfc.curate.sources import FORMATS
    from siamfc.model.train_config import CONFIG_FILE

    weights = Path(weights)
    config = weights.parent / CONFIG_FILE
    cannot = f"cannot check what {weights} was trained on"
    if not weights.is_file():
        return TrainingData(None, f"{cannot}: no such file")
    try:
        data = json.loads(config.read_text()).get("data")
    except FileNotFoundError:
        return TrainingData(None, f"{cannot}: the file does not record it and no {CONFIG_FILE} of its training run "
                                  "is beside it (public weights, or a copy)")
    except (OSError, ValueError, AttributeError) as err:
        return TrainingData(None, f"{cannot}: {config} unreadable ({err})")
    shares = data if isinstance(data, list) else [data] if data else []
    roots = [(s, None) if isinstance(s, str) else (s.get("root"), s.get("identity"))
             for s in shares if isinstance(s, str | dict)]
    if not roots or not all(isinstance(r, str) for r, _ in roots):
        return TrainingData(None, f"{cannot}: {config} names no curation (its 'data')")
    others, unknown = [], []
    for root, identity in roots:
        try:
            layout = CurationLayout.open(root)
        except CurationError as err:
            unknown.append(f"{root}: {str(err).removeprefix(f'{root}: ')}")
            continue
        if identity is not None and getattr(layout, "identity", identity) != identity:  # curations record one
            unknown.append(f"{root} holds another curation now than the one trained on")
            continue
        source = layout.settings.source
        title = FORMATS[source].title if source in FORMATS else source
        if source != GOT10K:
            others.append(f"{title} ({root})")
            continue
        plan = layout.planned_snippets()
        splits = sorted({s.split("/", 1)[0] for s in plan}) if plan is not None else None
        if splits is None:
            unknown.append(f"{root}: GOT-10k, but its plan.json (which splits) is unreadable")
        elif splits != ["train"]:
            others.append(f"GOT-10k {' and '.join(s for s in splits if s != 'train')} ({root})")
    if others:
        return TrainingData(False, (
            f"{weights} was trained on {', '.join(others)}, not GOT-10k's train split only ({config}): GOT-10k's "
            "test protocol allows training on GOT-10k train only; such results are not comparable on its "
            "leaderboard"))
    if unknown:
        return TrainingData(None, f"{cannot}: {'; '.join(unknown)}")
    return TrainingData(True, f"{weights} was trained on GOT-10k's train split only ({config}), as GOT-10k's test "
                              "protocol asks")
