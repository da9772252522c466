"""Per-attribute success: ``siamfc eval --attributes DIR`` on benchmarks that publish per-sequence attributes.

A sequence's attribute file flags the challenges it shows (scale variation, occlusion, ...); the figures of an
attribute are the mean of the per-sequence figures (success AUC, precision at 20 px, normalised precision) over
exactly the sequences flagged with it, every sequence weighing the same, as the benchmarks' toolkits average them
(LaSOT toolkit ``run_tracker_performance_evaluation.m``: ``idx_seq_set = find(att_all(:, att_idx) > 0)``, then the
overall plot's mean over those sequences). A sequence counts in every attribute it has.

Attribute files, in each benchmark's order (:data:`ATTRIBUTE_SETS`):

- **UAV123 / UAV20L**: ``<root>/anno/UAV123/att/<seq>.txt`` (``anno/UAV20L/att/``), one line of 12 comma-separated
  0/1 flags: SV ARC LR FM FOC POC OV BC IV VC CM SOB, the column order of the dataset's annotation document
  (``DatasetAnnotation.pdf``; not alphabetical).
- **LaSOT**: the evaluation toolkit's ``annos/att/<seq>.txt`` (``airplane-1.txt``), one line of 14 comma-separated
  0/1 flags in the toolkit's ``att_name`` order: IV POC DEF MB CM ROT BC VC SV FOC FM OV LR ARC. The dataset's own
  download has no attribute files: give ``--attributes`` the toolkit's folder (its root, ``annos/`` or
  ``annos/att/``); ``<root>/annos/att/`` and ``<root>/att/`` are looked at by default.
- **OTB** (optional): the 11 attributes IV OPR SV OCC DEF MB FM IPR OV BC LR, either as names (``SV, DEF, FM, OPR,
  BC``, as the benchmark's site lists them and ``<seq>/attrs.txt`` holds them in the Python tracker_benchmark's
  layout) or as 11 flags; a per-sequence ``<seq>/attrs.txt`` in the dataset, a folder of ``<seq>.txt``, or one list
  file of ``<seq><TAB><names>`` lines (``attr_list.txt``) given to ``--attributes``.

A sequence's file is found by its name's last part (``bike1``, ``airplane-1``), ignoring case and the characters
``. - _`` (OTB's ``Jogging.1`` takes ``Jogging-1`` or, failing that, ``Jogging``). A sequence without an attribute
file, or with a bad one (a value count other than the benchmark's, a value other than 0/1, an unknown name: file and
line named), is reported in one line and left out of the attribute table only; the overall figures keep it.

The table is printed, written as ``<out>/<name>_attributes.json`` and drawn as ``<out>/<name>_attributes.png``
(:func:`siamfc.model.eval_plots.plot_attributes`); runs compared with ``--compare`` that carry per-sequence figures
(our reports, published results read by :mod:`siamfc.model.published`) get their own column, over the sequences
they have. LaSOT's papers quote per-attribute AUCs by its toolkit's rule (frames without a visible target fail);
these are ours (scored frames only), like the report's main AUC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siamfc.curate.atomic import write_json_atomic
from siamfc.curate.errors import BadInput, UserError
from siamfc.curate.sources.text_files import content_lines

FIGURES = ("auc", "precision_20", "norm_precision")
_IGNORED = re.compile(r"[-_. ]")
_TARGET = re.compile(r"^(.+)[._-]([0-9]+)$")  # OTB's Jogging.1
_SEPARATORS = re.compile(r"[,\t ]+")


@dataclass(frozen=True)
class AttributeSet:
    """One benchmark's attributes, in its files' order, and where its files are under the dataset's root."""

    benchmark: str
    short: tuple[str, ...]
    long: tuple[str, ...]
    folders: tuple[str, ...]  # under the dataset root (or the --attributes folder): where <seq>.txt are
    names: bool = False  # the files may list attribute names instead of flags (OTB)

    def __len__(self) -> int:
        return len(self.short)


UAV_SHORT = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")
UAV_LONG = ("Scale Variation", "Aspect Ratio Change", "Low Resolution", "Fast Motion", "Full Occlusion",
            "Partial Occlusion", "Out-of-View", "Background Clutter", "Illumination Variation", "Viewpoint Change",
            "Camera Motion", "Similar Object")
ATTRIBUTE_SETS = {
    "UAV123": AttributeSet("UAV123", UAV_SHORT, UAV_LONG, ("anno/UAV123/att", "att")),
    "UAV20L": AttributeSet("UAV20L", UAV_SHORT, UAV_LONG, ("anno/UAV20L/att", "att")),
    "LaSOT": AttributeSet(
        "LaSOT", ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC"),
        ("Illumination Variation", "Partial Occlusion", "Deformation", "Motion Blur", "Camera Motion", "Rotation",
         "Background Clutter", "Viewpoint Change", "Scale Variation", "Full Occlusion", "Fast Motion", "Out-of-View",
         "Low Resolution", "Aspect Ratio Change"),
        ("annos/att", "att")),
    "OTB": AttributeSet(
        "OTB", ("IV", "OPR", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OV", "BC", "LR"),
        ("Illumination Variation", "Out-of-Plane Rotation", "Scale Variation", "Occlusion", "Deformation",
         "Motion Blur", "Fast Motion", "In-Plane Rotation", "Out-of-View", "Background Clutter", "Low Resolution"),
        ("anno/att", "att"), names=True),
}
OTB_LISTS = ("attr_list.txt", "attrlist.txt")  # one <seq><TAB><names> line per sequence
OTB_SEQUENCE_FILE = "attrs.txt"  # <root>/<seq>/attrs.txt


def attribute_set(benchmark: Any) -> AttributeSet | None:
    """The attributes of a benchmark (a registry entry with ``name`` / ``result_dir``, or a name), or None."""
    keys = [benchmark] if isinstance(benchmark, str) else [getattr(benchmark, "name", "") or "",
                                                            *tuple(getattr(benchmark, "result_dir", ()) or ())]
    for key in keys:
        k = str(key).casefold()
        if k.startswith("uav20l"):
            return ATTRIBUTE_SETS["UAV20L"]
        if k.startswith("uav"):
            return ATTRIBUTE_SETS["UAV123"]
        if k.startswith("lasot"):
            return ATTRIBUTE_SETS["LaSOT"]
        if k.startswith(("otb", "tb-", "tb50", "tb100")):
            return ATTRIBUTE_SETS["OTB"]
    return None


class AttributeFileError(UserError):
    """An attribute file that cannot be used; the message names the file and line."""


def parse_attributes(text: str, attrs: AttributeSet, where: str) -> np.ndarray:
    """One line of attributes: ``len(attrs)`` 0/1 flags separated by commas, tabs or spaces, or (OTB) attribute
    names separated by commas; ``where`` (``<file>, line <n>``) names it in the :class:`AttributeFileError`."""
    fields = [f for f in _SEPARATORS.split(text.strip()) if f]
    if not fields:
        raise AttributeFileError(f"{where}: empty; expected {len(attrs)} comma-separated 0/1 flags "
                                 f"({' '.join(attrs.short)})")
    if attrs.names and not any(_numeric(f) for f in fields):
        unknown = [f for f in fields if f.upper() not in attrs.short]
        if unknown:
            raise AttributeFileError(f"{where}: {', '.join(map(repr, unknown))} not among {attrs.benchmark}'s "
                                     f"attributes ({' '.join(attrs.short)})")
        named = {f.upper() for f in fields}
        return np.array([s in named for s in attrs.short], dtype=bool)
    if len(fields) != len(attrs):
        raise AttributeFileError(f"{where}: {len(fields)} values, {attrs.benchmark} has {len(attrs)} attributes "
                                 f"({' '.join(attrs.short)})")
    bad = next(((i, f) for i, f in enumerate(fields) if f not in ("0", "1")), None)
    if bad is not None:
        raise AttributeFileError(f"{where}: value {bad[0] + 1} ({attrs.short[bad[0]]}) is {bad[1]!r}, not 0 or 1")
    return np.array([f == "1" for f in fields], dtype=bool)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_attribute_file(path: Path, attrs: AttributeSet) -> np.ndarray:
    """The flags of one sequence's attribute file (one line; blank lines at the end, CRLF and a byte order mark are
    fine), as a bool array in ``attrs.short``'s order; :class:`AttributeFileError` naming the file and line."""
    try:
        lines = content_lines(path)
    except BadInput as bad:
        raise AttributeFileError(bad.detail) from None
    if not lines:
        raise AttributeFileError(f"{path}: empty file; expected one line of {len(attrs)} comma-separated 0/1 flags")
    if len(lines) > 1:
        raise AttributeFileError(f"{path}, line 2: {len(lines)} lines; an attribute file is one line of "
                                 f"{len(attrs)} flags")
    return parse_attributes(lines[0], attrs, f"{path}, line 1")


def _key(text: str) -> str:
    return _IGNORED.sub("", text.casefold())


def sequence_keys(name: str) -> list[str]:
    """The keys a sequence's attribute file may have: its name's last part, then (a second target's ``Jogging.1``)
    its folder's name."""
    short = name.rsplit("/", 1)[-1]
    keys = [_key(short)]
    target = _TARGET.match(short)
    if target:
        keys.append(_key(target[1]))
    return keys


@dataclass
class AttributeFlags:
    """Each sequence's attributes (in ``attrs.short``'s order), and one line per sequence left out."""

    attrs: AttributeSet
    flags: dict[str, np.ndarray]
    problems: list[str]
    source: str  # where they were read


def find_attributes(names: Iterable[str], attrs: AttributeSet, attributes: str | Path | None,
                    root: str | Path | None) -> AttributeFlags:
    """Read the attributes of the sequences ``names`` from ``attributes`` (a folder, or an OTB list file) or, without
    it, from the benchmark's places under the dataset ``root``; every sequence without a usable file gets one line in
    ``problems`` (when nothing is found at all: one line saying where it was looked for)."""
    names = list(names)
    places = _places(attrs, attributes, root)
    lists = [p for p in places if p.is_file()]
    folders = [p for p in places if p.is_dir()]
    table: dict[str, tuple[str, str]] = {}  # key -> (text, where)
    for path in lists:
        table.update({k: v for k, v in _list_entries(path).items() if k not in table})
    files: dict[str, Path] = {}
    for folder in folders:
        for p in sorted(folder.glob("*.txt")):
            files.setdefault(_key(p.stem), p)
    per_sequence_files = attrs.names and root is not None and attributes is None
    found = AttributeFlags(attrs, {}, [], ", ".join(str(p) for p in (lists + folders)) or "")
    for name in names:
        keys = sequence_keys(name)
        path = next((files[k] for k in keys if k in files), None)
        entry = next((table[k] for k in keys if k in table), None)
        if path is None and entry is None and per_sequence_files:
            own = Path(root) / name.rsplit("/", 1)[-1] / OTB_SEQUENCE_FILE
            base = Path(root) / (_TARGET.match(name)[1] if _TARGET.match(name) else name) / OTB_SEQUENCE_FILE
            path = own if own.is_file() else base if base.is_file() else None
        try:
            if path is not None:
                found.flags[name] = read_attribute_file(path, attrs)
            elif entry is not None:
                found.flags[name] = parse_attributes(entry[0], attrs, entry[1])
            else:
                where = f" in {found.source}" if found.source else ""
                found.problems.append(f"attributes: {name}: no attribute file{where}; left out of the attribute "
                                      "table")
        except AttributeFileError as err:
            found.problems.append(f"attributes: {err}; {name} left out of the attribute table")
    if not found.flags and not any("left out" in p and "no attribute file" not in p for p in found.problems):
        looked = ", ".join(str(p) for p in places) or "nowhere (no dataset root)"
        found.problems = [f"attributes: no {attrs.benchmark} attribute file for any of the {len(names)} sequences "
                          f"(looked in {looked}); give --attributes DIR"]
    return found


def _places(attrs: AttributeSet, attributes: str | Path | None, root: str | Path | None) -> list[Path]:
    """Where the attribute files may be: ``attributes`` itself (a folder or list file) and the benchmark's
    folders below it; without it, the benchmark's folders under the dataset root."""
    base = Path(attributes) if attributes is not None else Path(root) if root is not None else None
    if base is None:
        return []
    if base.is_file():
        return [base]
    if not base.is_dir():
        return []
    places = [base / f for f in attrs.folders if (base / f).is_dir()]
    parts = [f.split("/") for f in attrs.folders]  # a folder given at the toolkit's annos/ level: annos/att -> att
    places += [base / p[-1] for p in parts if len(p) > 1 and (base / p[-1]).is_dir()]
    if attributes is not None and not places:
        places = [base]
    if attrs.names:
        places += [base / n for n in OTB_LISTS if (base / n).is_file()]
    return list(dict.fromkeys(places))


def _list_entries(path: Path) -> dict[str, tuple[str, str]]:
    """An OTB list file: ``<seq><TAB><names>`` lines -> key -> (names, ``<file>, line <n>``)."""
    try:
        lines = content_lines(path)
    except BadInput:
        return {}
    entries = {}
    for number, line in enumerate(lines, 1):
        name, _, rest = line.strip().partition("\t")
        if name:
            entries.setdefault(_key(name), (rest, f"{path}, line {number}"))
    return entries


def per_sequence_figures(run: Any) -> dict[str, dict]:
    """``sequence -> {auc, precision_20, norm_precision}`` of an :class:`~siamfc.model.evaluate.EvalReport` or of a
    summary dict with ``per_sequence`` (a report JSON, a published run); empty when it has none."""
    if hasattr(run, "results"):  # each sequence's figures by its benchmark's rule, as the report's per_sequence
        figures = {r.sequence.name: getattr(r, "figures", r.curves) for r in run.results}
        return {name: {"auc": c.auc, "precision_20": c.precision_20, "norm_precision": c.norm_precision_auc}
                for name, c in figures.items() if c is not None}
    return dict(run.get("per_sequence") or {}) if isinstance(run, dict) else {}


def attribute_rows(per_sequence: dict[str, dict], found: AttributeFlags) -> list[dict]:
    """One row per attribute: its short and long name, the sequences flagged with it (of those in
    ``per_sequence``) and the mean of each figure over them (None without any)."""
    rows = []
    for i, (short, long) in enumerate(zip(found.attrs.short, found.attrs.long, strict=True)):
        names = [n for n, f in found.flags.items() if f[i] and n in per_sequence]
        row: dict[str, Any] = {"attribute": short, "name": long, "sequences": len(names)}
        for figure in FIGURES:
            values = [per_sequence[n][figure] for n in names if per_sequence[n].get(figure) is not None]
            row[figure] = float(np.mean(values)) if values else None
        rows.append(row)
    return rows


def _name(run: Any) -> str:
    return str(getattr(run, "name", None) or (run.get("name") if isinstance(run, dict) else "") or "run")


def attribute_report(report: Any, benchmark: Any, attributes_dir: str | Path | None, out: str | Path,
                     runs: Iterable[dict] = ()) -> list[str]:
    """The per-attribute table of ``report`` (an :class:`~siamfc.model.evaluate.EvalReport` or its JSON) and of the
    compared ``runs`` that carry per-sequence figures, as lines to print; writes ``<out>/<name>_attributes.json``
    and ``.png``. Attribute files come from ``attributes_dir`` (``--attributes``) or the benchmark's place under the
    dataset root (the report's ``dataset``). Returns ``[]`` for a benchmark without attributes when no
    ``attributes_dir`` is given (one line saying so when one is); never raises for a missing or bad file."""
    attrs = attribute_set(benchmark)
    if attrs is None:
        if attributes_dir is None:
            return []
        label = getattr(benchmark, "name", benchmark)
        return [f"attributes: no attribute list known for benchmark {label!s}; --attributes {attributes_dir} "
                "not read (UAV123, UAV20L, LaSOT and OTB have one)"]
    if attributes_dir is not None and not Path(attributes_dir).exists():
        return [f"attributes: {attributes_dir}: no such folder or file (--attributes); no attribute table"]
    ours = per_sequence_figures(report)
    if not ours:  # nothing scored (a first-box-only split)
        return []
    root = getattr(report, "dataset", None) or (report.get("dataset") if isinstance(report, dict) else None)
    found = find_attributes(ours, attrs, attributes_dir, root or None)
    if not found.flags:
        return found.problems
    columns = [(_name(report), attribute_rows(ours, found))]
    for run in runs:
        figures = per_sequence_figures(run)
        if figures and run is not report:
            columns.append((_name(run), attribute_rows(figures, found)))
    name = _name(report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = {"benchmark": attrs.benchmark, "attributes_from": found.source,
             "sequences_with_attributes": len(found.flags), "sequences": len(ours),
             "runs": {run: rows for run, rows in columns}, "left_out": found.problems}
    json_path = write_json_atomic(out / f"{name}_attributes.json", table)
    from .eval_plots import plot_attributes  # matplotlib only when there is a table to draw

    plot = plot_attributes(dict(columns), out / f"{name}_attributes.png",
                           title=f"{attrs.benchmark}: success AUC per attribute")
    return table_lines(columns, attrs, len(found.flags), len(ours)) + [
        f"  attribute table: {json_path}; plot: {plot}"] + found.problems


def table_lines(columns: list[tuple[str, list[dict]]], attrs: AttributeSet, with_file: int,
                total: int) -> list[str]:
    """The printed table: one line per attribute, the sequence count and each run's AUC (its precision@20px for
    the first run); a run over another number of sequences shows its count."""
    first = columns[0][0]
    out = [f"per-attribute figures on {attrs.benchmark} ({with_file} of {total} sequences with an attribute file; "
           "mean over the sequences with the attribute):"]
    width = max(len(long) for long in attrs.long) + 6
    head = f"  {'attribute':<{width}} {'seqs':>4}  {first[:14] + ' AUC':>18}  {'prec@20':>7}"
    head += "".join(f"  {name[:14] + ' AUC':>18}" for name, _ in columns[1:])
    out.append(head)
    for i, row in enumerate(columns[0][1]):
        label = f"{row['attribute']:<4} {row['name']}"
        line = f"  {label:<{width}} {row['sequences']:>4}  {_value(row['auc']):>18}  {_value(row['precision_20']):>7}"
        for _, rows in columns[1:]:
            other = rows[i]
            count = f" ({other['sequences']})" if other["sequences"] != row["sequences"] else ""
            line += f"  {_value(other['auc']) + count:>18}"
        out.append(line)
    return out


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
