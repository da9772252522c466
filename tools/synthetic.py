"""Synthetic inputs for benchmarks run without a dataset or weights argument."""

from __future__ import annotations

from pathlib import Path

import torch

from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import CurationSettings
from siamfc.curate.synth import SynthConfig, generate
from siamfc.model.net import SiamFCNet


def synthetic_curation(folder: Path, config: SynthConfig) -> Path:
    """Synthesise a VID tree in ``folder/vid`` and curate it (JPEG crops, 2 shards) into ``folder/curation``."""
    source, out = folder / "vid", folder / "curation"
    print(f"no dataset given: synthesising {config.train_snippets + config.val_snippets} snippets of "
          f"{config.frames} frames and curating them into {out}")
    generate(source, config, progress=True)
    curate(CurationConfig(source=source, out=out, progress=False, settings=CurationSettings(shards=2)))
    return out


def template_matching_net() -> SiamFCNet:
    """An AlexNet SiamFCNet set by hand to match templates, for benchmarks and tests without trained weights.

    Every convolution averages one channel of the layer below over its window (grouping respected), and the first
    splits each colour into its part above and below mid-grey (``relu(x - 128)``, ``relu(128 - x)``), so the
    embedding is a blurred, downsampled picture and the correlation a template match: its response has a clear
    peak where the exemplar's picture is, as a trained network's has. Random weights give flat responses whose
    peak float rounding can move.
    """
    net = SiamFCNet().eval()
    convs = [m for m in net.backbone.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for i, conv in enumerate(convs):
            out_c, in_c, k, _ = conv.weight.shape  # in_c: channels per group
            per_group = out_c // conv.groups
            conv.weight.zero_()
            conv.bias.zero_()
            for o in range(out_c):
                sign = 1.0 if i > 0 or (o // 3) % 2 == 0 else -1.0
                conv.weight[o, (o % per_group) % in_c] = sign / (k * k)
                if i == 0:
                    conv.bias[o] = -128.0 * sign
        for bn in (m for m in net.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.reset_parameters()
            bn.reset_running_stats()
    return net
