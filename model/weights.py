"""Loading tracker weights: our checkpoints and exported weights, and public PyTorch SiamFC state dicts.

Our files (a training ``checkpoint.pt`` or an exported ``weights.pt``) record the architecture they belong to
(:attr:`siamfc.model.net.SiamFCNet.architecture`); :func:`load_net` builds that network and loads the state
dict into it. Files without a record (our plain state dicts of before, and public ones) are AlexNet networks.

Public implementations with SiamFC's AlexNet (same layer shapes as :class:`SiamFCNet`) are renamed by key
prefix. Both were trained on **RGB** frames while our network reads BGR (as curation stores crops), so their
first convolution's input channels are reversed (``conv1`` weight ``[:, ::-1]``); nothing else changes.

==================================  =====================================  =========================
huanglianghua/siamfc-pytorch        StrangerZhang/SiamFC-PyTorch           SiamFCNet (ours)
==================================  =====================================  =========================
``backbone.conv1.0.*`` (conv)       ``features.0.*``                       ``backbone.conv1.0.*``
``backbone.conv1.1.*`` (BN)         ``features.1.*``                       ``backbone.conv1.1.*``
``backbone.conv2.0.*``              ``features.4.*``                       ``backbone.conv2.0.*``
``backbone.conv2.1.*``              ``features.5.*``                       ``backbone.conv2.1.*``
``backbone.conv3.0.*``              ``features.8.*``                       ``backbone.conv3.0.*``
``backbone.conv3.1.*``              ``features.9.*``                       ``backbone.conv3.1.*``
``backbone.conv4.0.*``              ``features.11.*``                      ``backbone.conv4.0.*``
``backbone.conv4.1.*``              ``features.12.*``                      ``backbone.conv4.1.*``
``backbone.conv5.0.*``              ``features.14.*``                      ``backbone.conv5.*``
(none: the head has no parameter)   ``corr_bias``                          ``head.bias`` (else 0)
==================================  =====================================  =========================

Both scale the correlation by 0.001 like our head. Batch-norm ``eps`` differs (ours and huanglianghua's 1e-6,
StrangerZhang's 1e-5): negligible next to the running variances. A ``module.`` prefix (DataParallel) is
dropped. A state dict whose tensors do not have our shapes (other backbones: stride-4 AlexNet with 32
channels of rafellerc/Pytorch-SiamFC, SiamFC-3s wide AlexNetV3, ...) is refused with the first mismatch named,
and so is one holding NaN or infinite values.
"""

from __future__ import annotations

from pathlib import Path

import torch

from siamfc.curate.errors import UserError

from .checkpoint import read_weights_file
from .net import SiamFCNet

OURS = "siamfc"
_STRANGER_LAYERS = {0: "conv1.0", 1: "conv1.1", 4: "conv2.0", 5: "conv2.1", 8: "conv3.0", 9: "conv3.1",
                    11: "conv4.0", 12: "conv4.1", 14: "conv5"}
PUBLIC_FORMATS: dict[str, dict[str, str]] = {  # format -> {their key prefix: our key prefix}
    "huanglianghua/siamfc-pytorch": {
        **{f"backbone.conv{i}.{j}.": f"backbone.conv{i}.{j}." for i in range(1, 5) for j in (0, 1)},
        "backbone.conv5.0.": "backbone.conv5.",
    },
    "StrangerZhang/SiamFC-PyTorch": {
        **{f"features.{i}.": f"backbone.{ours}." for i, ours in _STRANGER_LAYERS.items()},
        "corr_bias": "head.bias",
    },
}
RGB_FIRST_CONV = "backbone.conv1.0.weight"  # public nets read RGB: reverse this weight's input channels


def rename(state: dict[str, torch.Tensor], prefixes: dict[str, str]) -> dict[str, torch.Tensor] | None:
    """``state`` with every key renamed by its matching prefix; None when some key matches no prefix."""
    out = {}
    for key, value in state.items():
        theirs = next((p for p in prefixes if key.startswith(p)), None)
        if theirs is None:
            return None
        out[prefixes[theirs] + key[len(theirs):]] = value
    return out


def convert_state_dict(state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                       where: str = "state dict") -> tuple[dict[str, torch.Tensor], str]:
    """Our state dict from ours or a public one, checked against ``reference`` (a ``SiamFCNet`` state dict).

    Returns ``(state dict for SiamFCNet.load_state_dict, format name)``. Parameters a public format lacks
    (the head bias, batch-norm ``num_batches_tracked``) keep the reference's values. Raises ValueError naming
    ``where`` for an unknown layout or a shape mismatch.
    """
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if set(state) == set(reference):
        return _checked(state, reference, where), OURS
    for name, prefixes in PUBLIC_FORMATS.items():
        renamed = rename(state, prefixes)
        if renamed is None or not set(renamed) <= set(reference):
            continue
        missing = [k for k in reference if k not in renamed and not _optional(k)]
        if missing:
            raise UserError(f"{where}: looks like a {name} state dict but lacks {missing[0]}")
        if RGB_FIRST_CONV in renamed:
            renamed[RGB_FIRST_CONV] = renamed[RGB_FIRST_CONV].flip(1)
        return _checked({**reference, **renamed}, reference, where), name
    sample = ", ".join(list(state)[:3])
    raise UserError(f"{where}: unknown state dict layout (keys like {sample}); expected a siamfc checkpoint or "
                    f"weights file, or one of {', '.join(PUBLIC_FORMATS)}")


def _optional(key: str) -> bool:
    return key == "head.bias" or key.endswith("num_batches_tracked")


def _checked(state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], where: str) -> dict:
    for key, ref in reference.items():
        if state[key].shape != ref.shape:
            raise UserError(f"{where}: layer shapes do not match SiamFCNet: {key} is {list(state[key].shape)} "
                            f"in the file, {list(ref.shape)} here")
        if state[key].is_floating_point() and not torch.isfinite(state[key]).all():
            raise UserError(f"{where}: {key} holds NaN or infinite values (a diverged or corrupt training)")
    return state


def load_net(path: str | Path) -> tuple[SiamFCNet, str]:
    """``(network in eval mode on the CPU, format name)`` for any supported weights file: the architecture the
    file records (else the AlexNet one), with the file's weights."""
    state, architecture = read_weights_file(path)
    net = SiamFCNet() if architecture is None else SiamFCNet.from_architecture(architecture, str(path))
    state, fmt = convert_state_dict(state, net.state_dict(), str(path))
    net.load_state_dict(state)
    return net.eval(), fmt
