"""Pictures of a curation: histograms, a per-class bar chart, a montage of crops, one HTML page.

Figures come from :mod:`siamfc.curate.stats`; drawing uses matplotlib's object API (no pyplot, no
global backend switch) and opencv for the crop montage.
"""

from __future__ import annotations

import html
from pathlib import Path

import cv2
import numpy as np
from matplotlib.figure import Figure

from .atomic import atomic_write, write_text_atomic
from .boxes import cxcywh_to_xyxy
from .errors import CurationError, UserError
from .geometry import EXEMPLAR_SIZE, SEARCH_SIZE
from .manifest import Manifest
from .schema import name_text
from .shards import ShardReader
from .stats import QUANTITIES, Quantity, class_name, completeness_line, distributions, report_lines

BOX_COLOUR = (0, 255, 0)  # BGR
_BG, _FG, _BAD = (32, 32, 32), (235, 235, 235), (40, 40, 200)
_FONT, _FONT_SCALE, _LINE = cv2.FONT_HERSHEY_SIMPLEX, 0.42, 16
_PAD = 6

CHART_CLASSES = 40  # classes drawn at most in the per-class chart


def histogram_png(values: np.ndarray, q: Quantity, path: Path) -> Path:
    """Histogram of one quantity with its 5th, 50th and 95th percentiles marked."""
    v = np.asarray(values, dtype=np.float64) * (100 if q.percent else 1)
    fig = Figure(figsize=(7, 4.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    lo, hi = float(v.min()), float(v.max())
    bins = np.arange(lo - 0.5, hi + 1.5) if q.integer and hi - lo <= 120 else 60
    counts, _, _ = ax.hist(v, bins=bins, color="#4878a8", edgecolor="white", linewidth=0.3)
    if counts.max() > 0.5 * counts.sum() and len(counts) > 1:
        ax.set_yscale("log")  # one dominant bin (gaps of 1, zero padding) would flatten the rest
        ax.set_ylim(bottom=0.5)
    for p, style in ((5, ":"), (50, "--"), (95, ":")):
        x = float(np.percentile(v, p))
        ax.axvline(x, color="#c04040", linestyle=style, linewidth=1.2, label=f"p{p} = {x:.3g}")
    unit = f" [{q.unit}]" if q.unit else ""
    ax.set_title(f"{q.label} ({len(v):,} {q.per}s)")
    ax.set_xlabel(f"{q.label}{unit}")
    ax.set_ylabel(f"{q.per}s" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.legend(loc="upper right", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    with atomic_write(path) as f:
        fig.savefig(f, format="png")
    return path


def class_chart_png(figs: dict, path: Path) -> Path:
    """Horizontal bar chart of records per class, stacked by split: every class of a small vocabulary (VID's 30),
    the :data:`CHART_CLASSES` largest of a large one (GOT-10k's hundreds)."""
    classes = sorted(figs["classes"].values(), key=lambda c: c["records"])
    if len(classes) > CHART_CLASSES:
        classes = [c for c in classes if c["records"]][-CHART_CLASSES:]
    splits = list(figs["splits"])
    fig = Figure(figsize=(8, 0.28 * len(classes) + 1.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(classes))
    left = np.zeros(len(classes))
    for split, colour in zip(splits, ("#4878a8", "#e0a040", "#60a060", "#a060a0"), strict=False):
        n = np.array([c["by_split"].get(split, 0) for c in classes], dtype=float)
        ax.barh(y, n, left=left, color=colour, label=split)
        left += n
    for yi, c in zip(y, classes, strict=True):
        ax.text(c["records"], yi, f" {c['records']:,}", va="center", fontsize=8)
    ax.set_yticks(y, [c["name"] for c in classes], fontsize=9)
    ax.set_xlabel("records (crops)")
    ax.set_title(f"records per class ({figs['records']:,} records, {figs['tracks']:,} tracks)")
    ax.set_xlim(0, max(1.0, left.max()) * 1.15)
    ax.set_ylim(-0.6, len(classes) - 0.4)
    if splits:
        ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    with atomic_write(path) as f:
        fig.savefig(f, format="png")
    return path


def target_box(w: float, h: float, s_z: float, size: int) -> np.ndarray:
    """The target's VID-style inclusive box (xmin, ymin, xmax, ymax) in a ``size`` crop: centred on the
    crop's centre pixel, (w, h) * 127 / s_z crop pixels large."""
    scale = EXEMPLAR_SIZE / s_z
    c = (size - 1) / 2
    return cxcywh_to_xyxy(np.array([c, c, w * scale, h * scale]))


def draw_target(crop: np.ndarray, w: float, h: float, s_z: float, colour: tuple[int, int, int] = BOX_COLOUR,
                thickness: int = 1) -> np.ndarray:
    """A copy of a square crop with the target box drawn on its outermost pixels (sub-pixel placed)."""
    out = np.ascontiguousarray(crop).copy()
    x0, y0, x1, y1 = (round(v * 16) for v in target_box(w, h, s_z, crop.shape[0]))
    cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_8, shift=4)
    return out


def sample_records(m: Manifest, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` records drawn without replacement by a seeded generator, sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(m), size=min(n, len(m)), replace=False))


def montage_png(root: str | Path, m: Manifest, path: Path, n: int = 16, seed: int = 0, columns: int = 4) -> Path:
    """Grid of random records (seeded): exemplar and search crop with the target box, class and key."""
    reader = ShardReader(root)
    cells = [_cell(reader, m, int(i)) for i in sample_records(m, n, seed)]
    if not cells:
        raise UserError(f"{root}: no records to draw a montage from")
    height = max(c.shape[0] for c in cells)  # keys wrap to different line counts
    cells = [np.vstack([c, np.full((height - c.shape[0], *c.shape[1:]), _BG, np.uint8)]) for c in cells]
    rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    blank = np.full_like(cells[0], _BG)
    grid = np.vstack([np.hstack(r + [blank] * (columns - len(r))) for r in rows])
    ok, png = cv2.imencode(".png", grid)
    if not ok:
        raise ValueError(f"{path}: cannot encode the montage as PNG")
    with atomic_write(path) as f:
        f.write(png.tobytes())
    return path


def _cell(reader: ShardReader, m: Manifest, i: int) -> np.ndarray:
    r = m.records[i]
    key = name_text(m.key(i))
    width = 3 * _PAD + EXEMPLAR_SIZE + SEARCH_SIZE
    flags = "".join(f", {f}" for f in ("occluded", "generated", "cut") if r[f])
    w, h = float(r["xmax"] - r["xmin"] + 1), float(r["ymax"] - r["ymin"] + 1)
    head = [f"{class_name(m, int(r['cls']))}{flags}", *_wrap(key, width - 2 * _PAD),
            f"box {w:.0f}x{h:.0f} px, s_z {float(r['s_z']):.0f} px"]
    top = _PAD + _LINE * len(head) + _PAD
    cell = np.full((top + SEARCH_SIZE + _PAD, width, 3), _BG, np.uint8)
    for k, line in enumerate(head):
        cv2.putText(cell, line, (_PAD, _PAD + _LINE * (k + 1) - 4), _FONT, _FONT_SCALE, _FG, 1, cv2.LINE_AA)
    try:
        exemplar, search = reader.crops(m.key(i))
    except (KeyError, ValueError, CurationError) as err:
        cv2.putText(cell, f"unreadable: {type(err).__name__}", (_PAD, top + 20), _FONT, 0.5, _BAD, 1, cv2.LINE_AA)
        return cell
    s_z = float(r["s_z"])
    cell[top:top + EXEMPLAR_SIZE, _PAD:_PAD + EXEMPLAR_SIZE] = draw_target(exemplar, w, h, s_z)
    x0 = 2 * _PAD + EXEMPLAR_SIZE
    cell[top:top + SEARCH_SIZE, x0:x0 + SEARCH_SIZE] = draw_target(search, w, h, s_z)
    cv2.putText(cell, "exemplar z", (_PAD, top + EXEMPLAR_SIZE + 16), _FONT, _FONT_SCALE, _FG, 1, cv2.LINE_AA)
    cv2.putText(cell, "search x", (_PAD, top + EXEMPLAR_SIZE + 32), _FONT, _FONT_SCALE, _FG, 1, cv2.LINE_AA)
    return cell


def _wrap(text: str, width_px: int) -> list[str]:
    """Split a key at '/' into lines no wider than ``width_px`` when drawn."""
    lines, line = [], ""
    for part in text.split("/"):
        candidate = f"{line}/{part}" if line else part
        if line and cv2.getTextSize(candidate, _FONT, _FONT_SCALE, 1)[0][0] > width_px:
            lines.append(line + "/")
            line = part
        else:
            line = candidate
    return [*lines, line]


def write_pictures(root: str | Path, m: Manifest, figs: dict, out: Path, montage: int = 16,
                   seed: int = 0) -> dict[str, Path]:
    """Histograms, the class chart and (``montage`` > 0) the montage into ``out``; name -> PNG path."""
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path] = {}
    if len(m):
        images["classes"] = class_chart_png(figs, out / "classes.png")
        for key, values in distributions(m).items():
            if len(values):
                images[key] = histogram_png(values, QUANTITIES[key], out / f"hist_{key}.png")
        if montage > 0:
            images["montage"] = montage_png(root, m, out / "montage.png", montage, seed)
    return images


def write_html(figs: dict, images: dict[str, Path], path: Path, extra: list[str] | None = None) -> Path:
    """One self-contained page (images linked by relative path): the text tables and every picture."""
    text = "\n".join(report_lines(figs) + (extra or []))
    parts = [f"<!doctype html><meta charset='utf-8'><title>siamfc stats: {html.escape(figs['root'])}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1700px}pre{background:#f4f4f4;padding:1em;"
             "overflow-x:auto}img{max-width:100%;border:1px solid #ccc;margin:.4em}"
             ".grid{display:flex;flex-wrap:wrap}.grid img{width:640px}</style>",
             f"<h1>siamfc stats</h1><p>{html.escape(figs['root'])}: {html.escape(completeness_line(figs))}</p>",
             f"<pre>{html.escape(text)}</pre>"]
    if "classes" in images:
        parts.append(f"<h2>Records per class</h2><img src='{images['classes'].name}' alt='records per class'>")
    hists = [k for k in images if k in QUANTITIES]
    if hists:
        parts.append("<h2>Distributions</h2><div class='grid'>")
        parts += [f"<img src='{images[k].name}' alt='{html.escape(QUANTITIES[k].label)}'>" for k in hists]
        parts.append("</div>")
    if "montage" in images:
        parts.append("<h2>Random records (exemplar, search crop, target box)</h2>"
                     f"<img src='{images['montage'].name}' alt='montage'>")
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path
