"""Augmentation geometry, checked by finding drawn markers in the augmented crops (no trust in the code's own maps).

A synthetic stored crop has a bright blob on the target centre (127, 127) in the red plane, a marker 48 px to its
right in the green plane and one 40 px below it in the blue plane. After augmentation the red blob's centroid must
be where ``target`` says, the label's positives must be the cells within 16 px of that measured position, and the
marker distances give the stretch actually applied. The same is checked end to end through PairDataset on a
curation written with these crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from siamfc.curate.folder import CurationLayout
from siamfc.curate.schema import (
    RECORD_DTYPE,
    CurationSettings,
    SnippetMeta,
    checksum,
    encode_crop,
    encode_snippet_meta,
    record_key,
)
from siamfc.curate.shards import ShardWriter
from siamfc.curate.sources.vid_classes import WNIDS
from siamfc.pipeline.augment import (
    AUGMENT_COLUMNS,
    TABLE_GROUPS,
    U_COLUMNS,
    PairAugment,
    augment_pair,
    column,
    draw_augment,
    to_chw,
)
from siamfc.pipeline.batch_augment import augment_batch, exemplar_region
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.sampler_config import AugmentOptions, SamplerConfig

BACKGROUND = 20
RIGHT, DOWN = 48, 40  # marker offsets from the target in the stored crop
SNIPPET = "train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000"


def blob(cx: float, cy: float, sigma: float = 2.5, size: int = 255) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return 230.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))


def marker_crop() -> np.ndarray:
    """BGR stored crop: blue marker below, green marker right, red blob on the target."""
    planes = [blob(127, 127 + DOWN), blob(127 + RIGHT, 127), blob(127, 127)]
    return np.clip(np.stack(planes, -1) + BACKGROUND + 0.5, 0, 255).astype(np.uint8)


def centroid(plane: torch.Tensor | np.ndarray, near: tuple[float, float], half: int = 12) -> tuple[float, float]:
    """Intensity centroid (x, y) above the background in a window around ``near``."""
    p = np.asarray(plane, dtype=np.float64)
    x0, y0 = int(round(near[0])) - half, int(round(near[1])) - half
    win = np.clip(p[y0:y0 + 2 * half + 1, x0:x0 + 2 * half + 1] - BACKGROUND, 0, None)
    yy, xx = np.mgrid[y0:y0 + win.shape[0], x0:x0 + win.shape[1]]
    return float((win * xx).sum() / win.sum()), float((win * yy).sum() / win.sum())


def marker_side(plane: torch.Tensor, column: int) -> int:
    """+1 if the marker's bright pixels are right of ``column``, -1 if left."""
    bright = plane.numpy() > BACKGROUND + 30
    right, left = bright[:, column + 20:].sum(), bright[:, :column - 20].sum()
    assert (right > 0) != (left > 0)
    return 1 if right else -1


def brute_labels(dx: float, dy: float, n: int = 17, stride: int = 8, radius: float = 16.0) -> np.ndarray:
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = float(np.hypot((j - (n - 1) / 2) * stride - dx, (i - (n - 1) / 2) * stride - dy) <= radius)
    return out


def augment_on_device(z_crop: np.ndarray, x_crop: np.ndarray, aug: PairAugment, exemplar_size: int,
                      search_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`augment_pair`'s signature and output, computed by the batched torch path on a batch of one."""
    c, h = 127, (exemplar_region(exemplar_size, 0.05) - 1) // 2
    row = [float(v) for part in aug for v in (part if isinstance(part, tuple) else (part,))]
    z, x = augment_batch(torch.from_numpy(np.ascontiguousarray(z_crop[c - h:c + h + 1, c - h:c + h + 1]))[None],
                         torch.from_numpy(x_crop)[None], torch.tensor([row]), exemplar_size, search_size)
    return z[0].to(torch.uint8), x[0].to(torch.uint8)


AUGMENTS = {"workers": augment_pair, "device": augment_on_device}  # the two places augmentation can run

OPTIONS = AugmentOptions(exemplar_stretch=0.05, search_stretch=0.05, max_translate=8, flip=0.5, grayscale=0.0,
                         color_jitter=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("where", AUGMENTS)
def test_target_follows_translation_stretch_and_flip(where: str) -> None:
    augment_pair = AUGMENTS[where]
    crop = marker_crop()
    u = np.random.default_rng(7).random((40, U_COLUMNS))
    table = draw_augment(u, OPTIONS, 127)
    flips, x_stretch = set(), []
    for row in table:
        aug = PairAugment.from_row(row)
        z, x = augment_pair(crop, crop, aug, 127, 255)
        assert z.shape == (3, 127, 127) and x.shape == (3, 255, 255) and z.dtype == x.dtype == torch.uint8
        dx, dy = aug.shift
        assert abs(dx) <= 8 and abs(dy) <= 8
        cx, cy = centroid(x[2], (127 + dx, 127 + dy))
        assert (cx, cy) == pytest.approx((127 + dx, 127 + dy), abs=0.02)
        assert centroid(z[2], (63, 63)) == pytest.approx((63, 63), abs=0.02)
        sign = -1 if aug.flip else 1
        flips.add(aug.flip)
        for img, (ox, oy), size in ((x, (cx, cy), 255), (z, (63.0, 63.0), 127)):
            mx, my = centroid(img[1], (ox + sign * RIGHT, oy))
            bx, by = centroid(img[0], (ox, oy + DOWN))
            sx, sy = sign * (mx - ox) / RIGHT, (by - oy) / DOWN
            assert my == pytest.approx(oy, abs=0.05) and bx == pytest.approx(ox, abs=0.05)
            step = 2 / 255 if size == 255 else 2 / 120  # stretch quantisation (odd sizes)
            assert 0.95 - step <= sx <= 1.05 + step and 0.95 - step <= sy <= 1.05 + step
            if size == 255:
                assert (sx, sy) == pytest.approx((aug.x_size[0] / 255, aug.x_size[1] / 255), abs=0.01)
                x_stretch.append((sx, sy))
            else:
                assert (sx, sy) == pytest.approx((127 / aug.z_source[0], 127 / aug.z_source[1]), abs=0.01)
    assert flips == {False, True}
    s = np.array(x_stretch)
    assert s.std(axis=0).min() > 0.01 and np.abs(s[:, 0] - s[:, 1]).max() > 0.02  # scale and aspect vary


@pytest.mark.parametrize("where", AUGMENTS)
def test_translation_only_is_an_exact_shift_with_mean_padding(where: str) -> None:
    augment_pair = AUGMENTS[where]
    crop = np.random.default_rng(1).integers(0, 256, (255, 255, 3), dtype=np.uint8)
    fill = np.array([int(round(v)) for v in crop.reshape(-1, 3).mean(axis=0)])
    for dx, dy, flip in ((3, -4, False), (-8, 8, True), (0, 0, False)):
        aug = PairAugment((127, 127), (255, 255), (dx, dy), flip, False, (1.0,) * 3, (1.0,) * 3)
        z, x = augment_pair(crop, crop, aug, 127, 255)
        src = crop[:, ::-1] if flip else crop
        expected = np.empty((255, 255, 3), np.uint8)
        expected[:] = fill
        ys, xs = slice(max(dy, 0), 255 + min(dy, 0)), slice(max(dx, 0), 255 + min(dx, 0))
        expected[ys, xs] = src[max(-dy, 0):255 - max(dy, 0), max(-dx, 0):255 - max(dx, 0)]
        assert np.array_equal(x.numpy().transpose(1, 2, 0), expected)
        assert np.array_equal(z.numpy().transpose(1, 2, 0), src[64:191, 64:191])


@pytest.mark.parametrize("where", AUGMENTS)
def test_grayscale_and_colour_gains(where: str) -> None:
    augment_pair = AUGMENTS[where]
    crop = np.random.default_rng(2).integers(0, 256, (255, 255, 3), dtype=np.uint8)
    gray = PairAugment((127, 127), (255, 255), (0, 0), False, True, (1.0,) * 3, (1.0,) * 3)
    z, x = augment_pair(crop, crop, gray, 127, 255)
    luma = crop.astype(np.float64) @ np.array([0.114, 0.587, 0.299])
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2]) and torch.equal(z[0], z[2])
    assert np.abs(x[0].numpy() - luma).max() <= 1.0
    gains = (0.8, 1.0, 1.2)
    jitter = PairAugment((127, 127), (255, 255), (0, 0), False, False, gains, gains)
    _, x = augment_pair(crop, crop, jitter, 127, 255)
    for c, g in enumerate(gains):
        assert np.abs(x[c].numpy() - np.clip(crop[..., c] * g, 0, 255)).max() <= 1.0


def test_to_chw_keeps_bgr_planes_and_pads() -> None:
    image = np.random.default_rng(3).integers(0, 256, (121, 131, 3), dtype=np.uint8)
    out = to_chw(image, 127, (2, -1), fill=lambda: (1, 2, 3)).numpy()
    # image centre (65, 60) lands on (63 + 2, 63 - 1): out[r, c] = image[r - 2, c]
    assert np.array_equal(out[:, 62, 65], image[60, 65]) and np.array_equal(out[:, 2, 0], image[0, 0])
    assert np.array_equal(out[:, 2:123].transpose(1, 2, 0), image[:, :127])
    assert list(out[:, 0, 5]) == [1, 2, 3] and list(out[:, 126, 126]) == [1, 2, 3]  # rows above and below: padding
    with pytest.raises(ValueError):
        to_chw(image, 127)


def test_draw_augment_respects_options() -> None:
    u = np.random.default_rng(4).random((2000, U_COLUMNS))
    off = draw_augment(u, AugmentOptions(0.0, 0.0, 0, 0.0, 0.0, 0.0), 127)
    assert off.shape == (2000, AUGMENT_COLUMNS)  # the width batches are laid out with
    assert np.all(column(off, "z_source") == 127) and np.all(column(off, "x_size") == 255)
    assert not column(off, "shift").any() and not column(off, "flip").any() and not column(off, "gray").any()
    assert np.all(column(off, "z_gain") == 1) and np.all(column(off, "x_gain") == 1)
    on = draw_augment(u, AugmentOptions(0.05, 0.05, 4, 0.25, 0.5, 0.1), 127)
    assert np.all(column(on, "z_source") % 2 == 1) and np.all(column(on, "x_size") % 2 == 1)  # centre on a pixel
    assert set(np.unique(column(on, "shift"))) == set(range(-4, 5))
    assert column(on, "flip").mean() == pytest.approx(0.25, abs=0.04)
    assert column(on, "gray").mean() == pytest.approx(0.5, abs=0.04)
    gains = np.concatenate([column(on, "z_gain"), column(on, "x_gain")])
    assert 0.9 <= gains.min() and gains.max() <= 1.1


def test_table_columns_are_the_pair_augment_fields() -> None:
    assert tuple(TABLE_GROUPS) == PairAugment._fields  # from_row reads the groups by these names
    u = np.random.default_rng(5).random((3, U_COLUMNS))
    table = draw_augment(u, AugmentOptions(0.05, 0.05, 4, 0.5, 0.5, 0.1), 127)
    aug = PairAugment.from_row(table[1])
    for name in TABLE_GROUPS:
        assert np.array_equal(np.atleast_1d(getattr(aug, name)), np.atleast_1d(column(table, name)[1]))
    assert np.array_equal(column(torch.from_numpy(table), "flip").numpy(), column(table, "flip"))  # torch too


@pytest.fixture(scope="module")
def marker_curation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-track curation whose stored crops are the marker crop (raw encoding, so pixels are exact)."""
    root = tmp_path_factory.mktemp("markers") / "cur"
    layout = CurationLayout.create(root, CurationSettings(shards=1, encoding="raw"))
    layout.add_to_plan([SNIPPET])
    value = encode_crop(marker_crop(), "raw")
    frames = range(6)
    rows = np.zeros(len(frames), RECORD_DTYPE)
    rows["frame"] = frames
    rows["xmin"], rows["ymin"], rows["xmax"], rows["ymax"] = 288, 148, 351, 211
    rows["width"], rows["height"], rows["s_z"], rows["reduction"], rows["nbytes"] = 640, 360, 128.0, 1, len(value)
    rows["crc"] = checksum(value)
    with ShardWriter(layout) as writer:
        writer.commit(SNIPPET, [(record_key(SNIPPET, 0, f), value) for f in frames],
                      encode_snippet_meta(SNIPPET, SnippetMeta(rows, frames=len(frames), decoded=len(frames),
                                                                classes=WNIDS)))
    return root


def unbatched(loader: PairLoader) -> list[dict[str, torch.Tensor]]:
    return [{k: v[j] for k, v in batch.items()} for batch in loader for j in range(len(batch["index"]))]


@pytest.mark.parametrize("where", AUGMENTS)
def test_dataset_target_sits_where_the_label_says(marker_curation: Path, where: str) -> None:
    config = SamplerConfig(pairs_per_epoch=48, max_translate=8, flip=0.5, seed=3)
    ds = PairDataset(marker_curation, config)
    shifts, flips = set(), []
    for s in unbatched(PairLoader(ds, batch_size=8, augment_on=where)):
        cx, cy = centroid(s["x"][2], (127 + s["target"][0].item(), 127 + s["target"][1].item()))
        assert s["target"].tolist() == pytest.approx([cx - 127, cy - 127], abs=0.02)
        assert centroid(s["z"][2], (63, 63)) == pytest.approx((63, 63), abs=0.02)
        assert np.array_equal(s["label"].numpy(), brute_labels(cx - 127, cy - 127))
        w, pos = s["weight"].numpy().astype(np.float64), s["label"].numpy() > 0
        assert w[pos].sum() == pytest.approx(0.5) and w[~pos].sum() == pytest.approx(0.5)
        flips.append(marker_side(s["z"][1], 63) < 0)
        assert (marker_side(s["x"][1], round(cx)) < 0) == flips[-1]  # both crops mirrored, or neither
        shifts.add(tuple(s["target"].tolist()))
    assert len(shifts) > 20 and 0 < sum(flips) < len(flips)
