"""The tracker's network on ONNX Runtime, a CPU inference runtime: the ``onnxruntime`` backend.

The backbone of the loaded :class:`~siamfc.model.net.SiamFCNet` is exported to ONNX in memory when the engine is
built (batch and image size dynamic, batch norm folded into the convolutions by the runtime's graph
optimisation), so the backend needs no file of its own and always runs the same weights as the ``torch`` one.
ONNX Runtime embeds exemplar and search crops; the small cross-correlation head runs in PyTorch, as in
:class:`~siamfc.model.inference.TorchEngine`. Float32 throughout: responses agree with PyTorch's to float
rounding, so the boxes do too.

Needs the ``onnx`` extra: ``pip install 'siamfc[onnx]'``.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from .net import SiamFCNet


def _runtime():  # noqa: ANN202 - the module, imported only when this backend is chosen
    try:
        import onnxruntime
    except ImportError:
        raise ValueError("backend onnxruntime needs the onnx extra: pip install 'siamfc[onnx]'") from None
    return onnxruntime


def export_backbone(backbone: nn.Module) -> bytes:
    """The backbone as an ONNX model (input ``x`` float32 ``[n, 3, h, w]``, output ``features``), serialised."""
    x = torch.zeros(2, 3, 255, 255)
    axes = {"x": {0: "n", 2: "h", 3: "w"}, "features": {0: "n", 2: "fh", 3: "fw"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracing notes are not the user's business
        buffer = io.BytesIO()
        try:  # TorchScript exporter: a fraction of a second
            torch.onnx.export(backbone, (x,), buffer, input_names=["x"], output_names=["features"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
            return buffer.getvalue()
        except (TypeError, RuntimeError, AttributeError, ImportError):  # a torch without it: torch.export-based
            dims = {0: torch.export.Dim("n", min=1, max=64), 2: torch.export.Dim("h", min=87, max=2047),
                    3: torch.export.Dim("w", min=87, max=2047)}
            program = torch.onnx.export(backbone, (x,), None, input_names=["x"], output_names=["features"],
                                        dynamic_shapes={"x": dims}, dynamo=True)
            return program.model_proto.SerializeToString()


class OnnxEngine:
    """``set_exemplar`` / ``responses`` of :class:`~siamfc.model.inference.ResponseEngine` on ONNX Runtime (CPU).

    ``threads`` defaults to PyTorch's intra-op thread count, so both backends use the same cores.
    """

    name = "onnxruntime"
    device = "cpu"

    def __init__(self, net: SiamFCNet, threads: int | None = None):
        ort = _runtime()
        net = net.to("cpu").eval()
        self.grid = net.response_grid()
        self.head = net.head
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(export_backbone(net.backbone), options,
                                            providers=["CPUExecutionProvider"])
        self.kernel: torch.Tensor | None = None

    def _embed(self, crops: np.ndarray) -> torch.Tensor:
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)  # uint8 NHWC -> float NCHW
        return torch.from_numpy(self.session.run(None, {"x": x})[0])

    def set_exemplar(self, z: np.ndarray) -> None:
        self.kernel = self._embed(z[None])

    @torch.inference_mode()
    def responses(self, x: np.ndarray) -> np.ndarray:
        if self.kernel is None:
            raise RuntimeError("responses() before set_exemplar()")
        return self.head(self.kernel, self._embed(x))[:, 0].numpy()

    def synchronize(self) -> None:
        pass
