"""Success, precision and normalised precision plots of one or several evaluation runs, in one PNG; success AUC
per attribute as grouped bars (:func:`plot_attributes`).

Each run is a summary dict as :meth:`siamfc.model.evaluate.EvalReport.summary` gives and the report JSON
holds; the legend shows each run's score (AUC, precision at 20 px, normalised precision), best first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # drawn without pyplot: no GUI backend, no global figure state

from .metrics import IOU_THRESHOLDS, NORM_THRESHOLDS, PIXEL_THRESHOLDS, PRECISION_PIXELS

PANELS = (  # (curve key, score key, x values, x label, title)
    ("success_curve", "auc", IOU_THRESHOLDS, "overlap threshold", "Success plot of OPE (AUC)"),
    ("precision_curve", "precision_20", PIXEL_THRESHOLDS, "location error threshold (px)",
     f"Precision plot of OPE (at {PRECISION_PIXELS} px)"),
    ("norm_precision_curve", "norm_precision", NORM_THRESHOLDS, "normalised location error threshold",
     "Normalised precision (AUC)"),
)


def plot_runs(runs: list[dict], path: str | Path, title: str = "") -> Path:
    """Draw every run's curves in one figure (one panel per curve kind present) and save it as ``path``."""
    panels = [p for p in PANELS if all(p[0] in r for r in runs)]
    fig = Figure(figsize=(5.2 * len(panels), 4.4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (curve, score, xs, xlabel, panel_title) in zip(axes[0], panels, strict=True):
        for run in sorted(runs, key=lambda r: -r[score]):
            ax.plot(xs, np.asarray(run[curve]), linewidth=2, label=f"{run['name']} [{run[score]:.3f}]")
        ax.set(xlabel=xlabel, ylabel="fraction of frames", title=panel_title, xlim=(xs[0], xs[-1]), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left" if curve == "success_curve" else "lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def plot_attributes(runs: dict[str, list[dict]], path: str | Path, title: str = "") -> Path:
    """Success AUC per attribute as grouped horizontal bars, one bar per run (``runs``: run name -> rows of
    :func:`siamfc.model.attributes.attribute_rows`, the first run's attributes and sequence counts labelling the
    bars); attributes no sequence has are left out. Saved as ``path``."""
    names = list(runs)
    first = runs[names[0]]
    shown = [i for i, row in enumerate(first) if row["sequences"] > 0]
    height = 0.8 / max(len(names), 1)
    fig = Figure(figsize=(7.5, 1.2 + 0.38 * max(len(shown), 1) * max(1, len(names) ** 0.5)))
    ax = fig.subplots()
    ys = np.arange(len(shown))[::-1]
    for k, name in enumerate(names):
        values = [runs[name][i]["auc"] for i in shown]
        bars = ax.barh(ys + (len(names) - 1) / 2 * height - k * height, [v or 0.0 for v in values], height,
                       label=name)
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                ax.text(bar.get_width() + 0.005, bar.get_y() + bar.get_height() / 2, f"{value:.3f}", va="center",
                        fontsize=7)
    ax.set_yticks(ys, [f"{first[i]['attribute']} {first[i]['name']} ({first[i]['sequences']})" for i in shown],
                  fontsize=8)
    ax.set(xlabel="success AUC (mean over the sequences with the attribute)", xlim=(0, 1.0), title=title)
    ax.grid(axis="x", alpha=0.3)
    if len(names) > 1:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
