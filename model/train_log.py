"""The run folder's logs: ``log.json`` (epochs and step losses), ``log.csv`` (epochs), ``loss.png``, and the
one-line summary of an epoch the trainer prints.

Row 0 of the epochs is the untrained model's validation. The plot draws on a figure of its own (``Figure`` with
``FigureCanvasAgg``): matplotlib's global backend and pyplot's state stay untouched.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from siamfc.curate.atomic import atomic_write, write_json_atomic, write_text_atomic

LOG_CSV, LOG_JSON, LOSS_PNG = "log.csv", "log.json", "loss.png"
LOG_COLUMNS = ("epoch", "lr", "train_loss", "val_loss", "val_centre_error", "pairs", "seconds", "pairs_per_s",
               "data_wait_share")


def write_logs(out: Path, history: dict[str, Any]) -> None:
    """``log.json`` (epochs and step losses), ``log.csv`` (epochs) and ``loss.png``, each replaced atomically."""
    write_json_atomic(out / LOG_JSON, history)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history["epochs"])
    write_text_atomic(out / LOG_CSV, text.getvalue())
    plot_losses(history, out / LOSS_PNG)


def plot_losses(history: dict[str, Any], path: Path) -> None:
    """Loss curves (training steps, training epochs, validation) and the validation centre error."""
    epochs = history["epochs"]
    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)  # a figure of its own: pyplot's global state and backend stay untouched
    ax_loss, ax_err = fig.subplots(1, 2)
    if history["steps"]:
        s = np.asarray(history["steps"], dtype=float)
        ax_loss.plot(s[:, 0], s[:, 1], color="tab:blue", alpha=0.5, lw=0.8, label="train (steps)")
    for key, style, name in (("train_loss", "o-", "train (epoch mean)"), ("val_loss", "s-", "validation")):
        pts = [(r["epoch"], r[key]) for r in epochs if r.get(key) is not None]
        if pts:
            ax_loss.plot(*zip(*pts, strict=True), style, label=name)
    ax_loss.set(xlabel="epoch", ylabel="logistic loss (log scale)", title="loss", yscale="log")
    ax_loss.legend()
    pts = [(r["epoch"], r["val_centre_error"]) for r in epochs if r.get("val_centre_error") is not None]
    if pts:
        ax_err.plot(*zip(*pts, strict=True), "s-", color="tab:orange")
    ax_err.set(xlabel="epoch (0 = untrained)", ylabel="pixels (search crop)", title="validation centre error")
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)


def epoch_summary(r: dict[str, Any]) -> str:
    """One line about a row of the log (epoch 0: the untrained model's validation)."""
    parts = [f"epoch {r['epoch']}"]
    if r.get("train_loss") is not None:
        parts.append(f"train loss {r['train_loss']:.4f} ({r['pairs_per_s']:.1f} pairs/s, "
                     f"data wait {100 * r['data_wait_share']:.1f}%)")
    if r.get("val_loss") is not None:
        parts.append(f"val loss {r['val_loss']:.4f}, centre error {r['val_centre_error']:.1f} px")
    return " | ".join(parts) + (" (untrained)" if r["epoch"] == 0 else "")
