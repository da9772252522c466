"""The tracker's network on ONNX Runtime, a CPU inference runtime: the ``onnxruntime`` backend.

The loaded :class:`~siamfc.model.net.SiamFCNet` is exported to ONNX in memory when the engine is built (no file
of its own: it always runs the same weights as the ``torch`` backend), as two graphs: the exemplar's embedding,
and the scoring of search crops against it (embedding, correlation with the exemplar's features given as an
input, scale and bias). Both take the crops as stored, uint8 ``[n, h, w, 3]`` BGR, and convert them inside the
graph; the runtime's graph optimisation folds batch norm into the convolutions. Each frame is one runtime call
and no PyTorch op, so the two libraries' thread pools never compete for the cores. Float32 throughout.

With ``int8=True`` (the ``onnxruntime-int8`` backend) the search branch's convolutions run in 8-bit integers:
weights per channel, activations per tensor with ranges calibrated at build time on crops of synthetic scenes
(:func:`calibration_crops`), ``reduce_range`` on (7-bit activations: without it the integer kernels of CPUs
without VNNI saturate). The exemplar's features and the correlation stay float32. Faster, and no longer exact:
`siamfc bench track` reports its boxes against the float32 path.

Needs the ``onnx`` extra: ``pip install 'siamfc[onnx]'``.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from siamfc.curate.errors import UserError

from .net import SiamFCNet


def _runtime():  # noqa: ANN202 - the module, imported only when this backend is chosen
    try:
        import onnx  # noqa: F401 - quantisation and the export need it too
        import onnxruntime
    except ImportError as err:
        raise UserError(f"backend onnxruntime needs the onnx extra ({err.name} is missing): "
                         "pip install 'siamfc[onnx]'") from None
    return onnxruntime


class _Embedding(nn.Module):
    """uint8 crops ``[n, h, w, 3]`` -> features."""

    def __init__(self, net: SiamFCNet):
        super().__init__()
        self.backbone = net.backbone

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.backbone(crops.permute(0, 3, 1, 2).float())


class _Scores(_Embedding):
    """uint8 search crops ``[n, h, w, 3]`` and exemplar features ``[1, C, fh, fw]`` -> responses ``[n, 1, R, R]``."""

    def __init__(self, net: SiamFCNet):
        super().__init__(net)
        self.head = net.head

    def forward(self, crops: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return self.head(kernel, super().forward(crops))


def export(module: nn.Module, inputs: dict[str, torch.Tensor], dynamic: dict[str, dict[int, str]]) -> bytes:
    """``module`` as a serialised ONNX model with inputs named as ``inputs`` and the axes ``dynamic`` left free."""
    args = tuple(inputs.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracing notes are not the user's business
        buffer = io.BytesIO()
        try:  # TorchScript exporter: a fraction of a second
            torch.onnx.export(module, args, buffer, input_names=list(inputs), output_names=["out"],
                              dynamic_axes=dynamic, opset_version=17, dynamo=False)
            return buffer.getvalue()
        except (TypeError, RuntimeError, AttributeError, ImportError):  # a torch without it: torch.export-based
            shapes = {name: {axis: torch.export.Dim(f"{name}_{axis}", min=1, max=4096) for axis in axes}
                      for name, axes in dynamic.items()}
            program = torch.onnx.export(module, args, None, input_names=list(inputs), output_names=["out"],
                                        dynamic_shapes=shapes, dynamo=True, verbose=False)
            return program.model_proto.SerializeToString()


def calibration_crops(n: int, seed: int = 0) -> np.ndarray:
    """``n`` uint8 search crops ``[n, 255, 255, 3]`` of synthetic scenes: smooth noise of several scales, blurred
    coloured shapes and sensor noise, the statistics int8 calibration needs (not real objects)."""
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        scene = np.zeros((255, 255, 3), np.float32)
        for cells in (4, 8, 16, 32, 64):
            scene += cv2.resize(rng.normal(size=(cells, cells, 3)).astype(np.float32), (255, 255),
                                interpolation=cv2.INTER_CUBIC) * rng.uniform(0.5, 1.5)
        scene = (scene - scene.mean()) / (scene.std() + 1e-6) * rng.uniform(20, 60) + rng.uniform(60, 190, 3)
        for _ in range(rng.integers(2, 8)):
            centre = tuple(int(v) for v in rng.integers(0, 255, 2))
            axes = tuple(int(v) for v in rng.integers(8, 90, 2))
            cv2.ellipse(scene, centre, axes, float(rng.uniform(0, 180)), 0, 360, rng.uniform(0, 255, 3).tolist(), -1)
        scene = cv2.GaussianBlur(scene, (0, 0), 1.0) + rng.normal(0, 3, scene.shape).astype(np.float32)
        crops.append(np.clip(scene, 0, 255).astype(np.uint8))
    return np.stack(crops)


def quantized(model: bytes, inputs: list[dict[str, np.ndarray]]) -> bytes:
    """``model`` with its convolutions on constant weights in int8, activations calibrated on ``inputs``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    import onnx

    proto = onnx.load_from_string(model)
    weights = {t.name for t in proto.graph.initializer}
    dynamic = [n.name for n in proto.graph.node if n.op_type == "Conv" and n.input[1] not in weights]
    with tempfile.TemporaryDirectory(prefix="siamfc-int8-") as tmp:
        source, prepared, out = Path(tmp, "f32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        source.write_bytes(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(source), str(prepared))
            quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QOperator, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True,
                            nodes_to_exclude=dynamic, op_types_to_quantize=["Conv"])
        return out.read_bytes()


class OnnxEngine:
    """``set_exemplar`` / ``responses`` of :class:`~siamfc.model.inference.ResponseEngine` on ONNX Runtime (CPU).

    ``threads`` defaults to PyTorch's intra-op thread count, so both backends use the same cores.
    """

    device = "cpu"

    def __init__(self, net: SiamFCNet, threads: int | None = None, int8: bool = False):
        ort = _runtime()
        net = net.to("cpu", memory_format=torch.contiguous_format).eval()
        self.grid = net.response_grid()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        z = torch.zeros(1, 127, 127, 3, dtype=torch.uint8)
        x = torch.zeros(3, 255, 255, 3, dtype=torch.uint8)
        with torch.no_grad():
            kernel = _Embedding(net)(z)
        crops = {0: "n", 1: "h", 2: "w"}
        embedding = export(_Embedding(net), {"crops": z}, {"crops": crops})
        scores = export(_Scores(net), {"crops": x, "kernel": kernel}, {"crops": crops})
        providers = ["CPUExecutionProvider"]
        self.embedding = ort.InferenceSession(embedding, options, providers=providers)
        self.name = "onnxruntime-int8" if int8 else "onnxruntime"
        if int8:
            calibration = calibration_crops(48)
            kernels = [self.embedding.run(None, {"crops": c[None, 64:191, 64:191]})[0] for c in calibration[:16]]
            scores = quantized(scores, [{"crops": calibration[i:i + 3], "kernel": kernels[i % 16]}
                                        for i in range(0, 48, 3)])
        self.scores = ort.InferenceSession(scores, options, providers=providers)
        self.kernel: np.ndarray | None = None

    def set_exemplar(self, z: np.ndarray) -> None:
        self.kernel = self.embedding.run(None, {"crops": np.ascontiguousarray(z[None])})[0]

    def responses(self, x: np.ndarray) -> np.ndarray:
        if self.kernel is None:
            raise RuntimeError("responses() before set_exemplar()")
        return self.scores.run(None, {"crops": np.ascontiguousarray(x), "kernel": self.kernel})[0][:, 0]

    def synchronize(self) -> None:
        pass
