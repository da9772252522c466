"""The SiamFC tracker (Bertinetto et al. 2016), speaking the got10k toolkit's ``Tracker`` interface.

``init(image, box)`` computes the exemplar features once, from the first frame's box, with the curation's
geometry (:mod:`siamfc.curate.geometry`: context square ``s_z``, mean padding). Each ``update(image)``:

1. crops ``scales`` search squares of side ``s_x * f`` (``f = scale_step ** k``, ``k = -n//2 .. n//2``) around
   the last centre, padded with the frame's channel mean, resampled to 255x255;
2. scores them against the exemplar in one batch on the chosen backend (:mod:`.inference`): ``[n, 17, 17]``;
3. upsamples each response 16x by bicubic interpolation to **272 x 272** (``17 * 16``, as SiamFC does;
   ``cv2.resize`` uses half-pixel centres, so response cell ``i`` lands at ``16 i + 7.5`` and the map centre
   ``135.5`` is exactly cell 8's centre: the mapping below is exact, no 257-wide align-corners map needed);
4. multiplies the non-central scales by ``scale_penalty`` and keeps the scale with the highest peak;
5. normalises that map to sum 1 (after subtracting its minimum) and mixes in a Hann window that also sums to 1:
   ``(1 - window_influence) * r + window_influence * hann``;
6. maps the peak back to search-crop pixels with the convention of :mod:`siamfc.pipeline.response_map`
   (response cell ``i`` at search-crop pixel ``63 + 8 i``, the centre cell 8 at the crop's centre pixel 127), then
   ``disp_frame = disp_search_crop * s_x * f / 255`` (:func:`siamfc.curate.geometry.crop_scale` of that crop);
7. damps the scale change: ``s_x *= (1 - scale_lr) + scale_lr * f``, kept within ``[min_scale, max_scale]``
   times its first value (SiamFC's saturation); the box's ``w, h`` change by the same ratio as ``s_x``.

Images are BGR ``uint8`` arrays as ``cv2.imread`` gives them (the training crops are BGR); a PIL image (what
the got10k toolkit's own ``Tracker.track`` would pass) is converted. Boxes are ``x, y, w, h`` 0-based: give
the toolkit's OTB boxes (1-based) and the results come back in the same convention, since the tracker only
ever adds displacements to the first box.

:func:`load_tracker` is the one way to build a tracker from a weights file, on any backend.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from siamfc.curate.boxes import check_xywh, cxcywh_to_xywh, xywh_to_cxcywh
from siamfc.curate.errors import UserError
from siamfc.curate.geometry import EXEMPLAR_SIZE, SEARCH_SIZE, channel_mean, crop, exemplar_side, search_side
from siamfc.pipeline.response_map import ResponseGrid

from .inference import ResponseEngine, TorchEngine
from .tracker_config import BACKENDS, TrackerConfig

FrameCallback = Callable[[int, np.ndarray, np.ndarray], None]  # (frame index, BGR image, x,y,w,h box)


class BoxOutsideFrameWarning(UserWarning):
    """The initial box lies outside its frame (entirely, or its centre): the exemplar is mostly padding."""


def scale_factors(config: TrackerConfig) -> np.ndarray:
    """Search scale factors ``scale_step ** k`` for ``k = -(n // 2) .. n // 2``."""
    half = config.scales // 2
    return config.scale_step ** np.arange(-half, half + 1, dtype=np.float64)


def hann_window(size: int) -> np.ndarray:
    """2-D Hann (cosine) window normalised to sum 1."""
    w = np.outer(np.hanning(size), np.hanning(size))
    return w / w.sum()


def upsample_responses(responses: np.ndarray, factor: int) -> np.ndarray:
    """Bicubic upsampling ``[n, R, R] -> [n, R * factor, R * factor]`` (half-pixel centres)."""
    size = responses.shape[-1] * factor
    return np.stack([cv2.resize(r, (size, size), interpolation=cv2.INTER_CUBIC) for r in responses])


def choose_scale(responses: np.ndarray, penalty: float) -> int:
    """Index of the scale with the highest peak after penalising every non-central scale."""
    peaks = responses.reshape(len(responses), -1).max(axis=1).astype(np.float64)
    factors = np.full(len(responses), penalty)
    factors[len(responses) // 2] = 1.0
    return int(np.argmax(peaks * factors))


def locate(responses: np.ndarray, config: TrackerConfig, grid: ResponseGrid,
           window: np.ndarray) -> tuple[int, float, float]:
    """Raw ``[n, R, R]`` responses -> (scale index, dx, dy in search-crop pixels of that scale)."""
    up = upsample_responses(np.asarray(responses, dtype=np.float32), config.response_up)
    best = choose_scale(up, config.scale_penalty)
    r = up[best].astype(np.float64)
    r -= r.min()
    r /= r.sum() + 1e-16
    r = (1 - config.window_influence) * r + config.window_influence * window
    row, col = np.unravel_index(int(np.argmax(r)), r.shape)
    return best, grid.offset(float(col), config.response_up), grid.offset(float(row), config.response_up)


def as_bgr(image: object) -> np.ndarray:
    """A BGR uint8 ``HxWx3`` array from a BGR/gray array or a PIL image (RGB)."""
    if hasattr(image, "convert"):  # PIL.Image
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    array = np.asarray(image)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.ndim != 3 or array.shape[2] != 3:
        raise UserError(f"expected an HxWx3 BGR image, got an array of shape {array.shape}")
    return array


def outside_frame(box: np.ndarray, width: int, height: int) -> str | None:
    """How an ``x, y, w, h`` box lies outside a ``width`` x ``height`` frame: ``"entirely"``, ``"centre"`` or None.

    Pixel ``i`` covers ``[i - 0.5, i + 0.5]``, so the frame spans ``[-0.5, width - 0.5]`` (and so for rows).
    """
    cx, cy, w, h = xywh_to_cxcywh(np.asarray(box, dtype=np.float64))
    if min(cx + w / 2, cy + h / 2) <= -0.5 or cx - w / 2 >= width - 0.5 or cy - h / 2 >= height - 0.5:
        return "entirely"
    if not (-0.5 <= cx <= width - 0.5 and -0.5 <= cy <= height - 0.5):
        return "centre"
    return None


def read_image(path: str | Path) -> np.ndarray:
    """``cv2.imread`` a frame (BGR); raises FileNotFoundError / UserError naming the file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such frame")
        raise UserError(f"{path}: not a readable image")
    return image


class SiamFCTracker:
    """SiamFC tracking on a :class:`~siamfc.model.inference.ResponseEngine` (the network on some backend).

    Follows the got10k ``Tracker`` interface (``name``, ``is_deterministic``, ``init``, ``update``, ``track``),
    so an instance can be handed to the toolkit's experiments without the toolkit being a dependency here.
    Build one from a weights file with :func:`load_tracker`.
    """

    def __init__(self, engine: ResponseEngine, config: TrackerConfig | None = None, name: str = "SiamFC"):
        config = config or TrackerConfig()
        self.name = name
        self.is_deterministic = True
        self.config = config
        self.engine = engine
        self.factors = scale_factors(config)
        self.window = hann_window(engine.grid.upsampled_size(config.response_up))
        self.centre = np.zeros(2)
        self.size = np.zeros(2)
        self.s_x = self.s_x0 = 0.0
        self.started = False
        self.stage_seconds = {"crops": 0.0, "network": 0.0, "locate": 0.0}  # summed over updates, for benchmarks
        self.info: dict[str, Any] = {"backend": engine.name, "device": engine.device, "tracker": asdict(config)}

    def init(self, image: object, box: Sequence[float] | np.ndarray) -> None:
        """Start tracking the ``x, y, w, h`` box of ``image``: compute the exemplar features once.

        Raises UserError (a ValueError) for a box that is not finite or has no area; warns
        (:class:`BoxOutsideFrameWarning`) when the box, or its centre, lies outside the image.
        """
        image = as_bgr(image)
        box = check_xywh(box, "initial box")
        where = outside_frame(box, image.shape[1], image.shape[0])
        if where is not None:
            what = "lies entirely" if where == "entirely" else "has its centre"
            warnings.warn(f"initial box x,y,w,h = {','.join(f'{v:g}' for v in box)} {what} outside the "
                          f"{image.shape[1]}x{image.shape[0]} frame: the exemplar is mostly padding",
                          BoxOutsideFrameWarning, stacklevel=2)
        cx, cy, w, h = xywh_to_cxcywh(box)
        self.centre, self.size = np.array([cx, cy]), np.array([w, h])
        s_z = exemplar_side(w, h, self.config.context)
        self.s_x = self.s_x0 = search_side(s_z)
        self.engine.set_exemplar(crop(image, cx, cy, s_z, EXEMPLAR_SIZE, channel_mean(image)))
        self.started = True

    def update(self, image: object) -> np.ndarray:
        """Locate the target in the next frame; returns its ``x, y, w, h`` box."""
        if not self.started:
            raise RuntimeError("update() before init()")
        start = time.perf_counter()
        image = as_bgr(image)
        fill = channel_mean(image)
        cx, cy = self.centre
        crops = np.stack([crop(image, cx, cy, self.s_x * f, SEARCH_SIZE, fill) for f in self.factors])
        cropped = time.perf_counter()
        responses = self.engine.responses(crops)
        scored = time.perf_counter()
        best, dx, dy = locate(responses, self.config, self.engine.grid, self.window)
        t = self.stage_seconds
        t["crops"], t["network"], t["locate"] = (t["crops"] + cropped - start, t["network"] + scored - cropped,
                                                 t["locate"] + time.perf_counter() - scored)
        f = self.factors[best]
        self.centre = self.centre + np.array([dx, dy]) * (self.s_x * f / SEARCH_SIZE)
        damped = (1 - self.config.scale_lr) + self.config.scale_lr * f
        s_x = float(np.clip(self.s_x * damped, self.config.min_scale * self.s_x0, self.config.max_scale * self.s_x0))
        self.size = self.size * (s_x / self.s_x)
        self.s_x = s_x
        return self.box()

    def box(self) -> np.ndarray:
        """The current ``x, y, w, h`` box."""
        return cxcywh_to_xywh(np.concatenate([self.centre, self.size]))

    def track(self, img_files: Sequence[str | Path], box: Sequence[float] | np.ndarray, visualize: bool = False,
              callback: FrameCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Track through ``img_files`` from ``box`` on the first: ``(boxes [N, 4], seconds per frame [N])``.

        Times cover ``init``/``update`` only, not reading the frame (as in the got10k toolkit). ``callback``
        gets each frame and its box; ``visualize`` shows them in an OpenCV window (needs a GUI build of OpenCV).
        """
        boxes = np.zeros((len(img_files), 4))
        times = np.zeros(len(img_files))
        if visualize and callback is None:
            callback = show_frame
        for i, path in enumerate(img_files):
            image = read_image(path)
            start = time.perf_counter()
            if i == 0:
                self.init(image, box)
                boxes[0] = box
            else:
                boxes[i] = self.update(image)
            times[i] = time.perf_counter() - start
            if callback is not None:
                callback(i, image, boxes[i])
        return boxes, times


def draw_box(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int] = (0, 255, 0),
             thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` with the ``x, y, w, h`` box drawn."""
    out = image.copy()
    x, y, w, h = (float(v) for v in box)
    cv2.rectangle(out, (round(x), round(y)), (round(x + w - 1), round(y + h - 1)), colour, thickness)
    return out


def show_frame(index: int, image: np.ndarray, box: np.ndarray) -> None:
    """Show a frame with its box in an OpenCV window."""
    cv2.imshow("siamfc", draw_box(image, box))
    cv2.waitKey(1)


def load_tracker(weights: str | Path, config: TrackerConfig | None = None, device: str | None = None,
                 backend: str = "torch", name: str = "SiamFC") -> SiamFCTracker:
    """The tracker for a weights file (ours, or a public SiamFC state dict; see :mod:`.weights`) on ``backend``.

    ``backend``: ``torch`` (``device``: cpu, cuda, ...; default CUDA when present), ``onnxruntime`` or
    ``onnxruntime-int8`` (CPU; need the ``onnx`` extra). ``tracker.info`` records the weights, their format, the
    backend and the configuration.
    """
    from .weights import load_net

    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    net, fmt = load_net(weights)
    if backend.startswith("onnxruntime"):
        from .onnx_engine import OnnxEngine

        if device not in (None, "cpu"):
            raise UserError(f"backend {backend} runs on the CPU; device {device!r} is for the torch backend")
        engine: ResponseEngine = OnnxEngine(net, int8=backend == "onnxruntime-int8")
    else:
        engine = TorchEngine(net, device)
    tracker = SiamFCTracker(engine, config, name)
    tracker.info.update(weights=str(weights), weights_format=fmt, architecture=net.architecture)
    return tracker
