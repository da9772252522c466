"""Synthetic inputs for benchmarks run without a dataset argument."""

from __future__ import annotations

from pathlib import Path

from siamfc.curate.format import CurationSettings
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.synth import SynthConfig, generate


def synthetic_curation(folder: Path, config: SynthConfig) -> Path:
    """Synthesise a VID tree in ``folder/vid`` and curate it (JPEG crops, 2 shards) into ``folder/curation``."""
    source, out = folder / "vid", folder / "curation"
    print(f"no dataset given: synthesising {config.train_snippets + config.val_snippets} snippets of "
          f"{config.frames} frames and curating them into {out}")
    generate(source, config, progress=True)
    curate(CurationConfig(source=source, out=out, progress=False, settings=CurationSettings(shards=2)))
    return out
