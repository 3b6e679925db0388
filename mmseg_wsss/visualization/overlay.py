"""Colour overlays of label maps (pseudo labels, seeds, predictions) and
of class activation maps."""
from typing import Sequence

import numpy as np

from mmseg_wsss.utils import atomic_write_image


def overlay_labels(img_rgb: np.ndarray,
                   labels: np.ndarray,
                   palette: Sequence[Sequence[int]],
                   alpha: float = 0.5,
                   ignore_index: int = 255) -> np.ndarray:
    """Blend ``labels`` (H, W) coloured by ``palette`` over ``img_rgb``
    (H, W, 3 uint8); ``ignore_index`` pixels keep the image. RGB uint8."""
    lut = np.zeros((256, 3), dtype=np.float32)
    lut[:len(palette)] = np.asarray(palette, dtype=np.float32)
    colour = lut[labels]
    out = img_rgb.astype(np.float32)
    labelled = (labels != ignore_index)[..., None]
    out = np.where(labelled, (1 - alpha) * out + alpha * colour, out)
    return out.round().astype(np.uint8)


def labels_panel(img_rgb: np.ndarray, labels: np.ndarray,
                 palette: Sequence[Sequence[int]], **kwargs) -> np.ndarray:
    """``img | overlay`` side by side (:func:`overlay_labels`), RGB."""
    return np.concatenate(
        [img_rgb, overlay_labels(img_rgb, labels, palette, **kwargs)], 1)


def save_overlay(path: str, img_rgb: np.ndarray, labels: np.ndarray,
                 palette: Sequence[Sequence[int]], **kwargs) -> None:
    """Write :func:`labels_panel` (atomically) to ``path``."""
    atomic_write_image(path,
                       labels_panel(img_rgb, labels, palette,
                                    **kwargs)[..., ::-1])


def overlay_cams(img_rgb: np.ndarray,
                 cams: np.ndarray,
                 palette: Sequence[Sequence[int]],
                 alpha: float = 0.7) -> np.ndarray:
    """Blend class activation maps ``cams`` (C, H, W), values in [0, 1],
    over ``img_rgb``: each pixel takes the colour of its strongest class
    with opacity ``alpha`` times that activation. RGB uint8."""
    colour = np.asarray(palette, dtype=np.float32)[cams.argmax(0)]
    weight = alpha * np.clip(cams.max(0), 0, 1)[..., None]
    out = (1 - weight) * img_rgb.astype(np.float32) + weight * colour
    return out.round().astype(np.uint8)


def segment_colours(id_map: np.ndarray, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8: a distinct random colour per segment id of
    ``id_map`` (0, VOID, black); the same id always gets the same colour."""
    ids, inverse = np.unique(id_map, return_inverse=True)
    lut = np.random.default_rng(seed).integers(64, 256, (len(ids), 3),
                                               dtype=np.uint8)
    lut[ids == 0] = 0
    return lut[inverse.reshape(id_map.shape)]


def panoptic_panel(img_rgb: np.ndarray, sem: np.ndarray, id_map: np.ndarray,
                   palette: Sequence[Sequence[int]],
                   ignore_index: int = 255) -> np.ndarray:
    """``img | semantic overlay | segments`` side by side, RGB: each
    panoptic segment of ``id_map`` (0 VOID) in its own colour over the
    image, segment borders in white."""
    seg = segment_colours(id_map).astype(np.float32)
    blend = (0.4 * img_rgb + 0.6 * seg).round().astype(np.uint8)
    border = np.zeros(id_map.shape, dtype=bool)
    border[:, 1:] |= id_map[:, 1:] != id_map[:, :-1]
    border[1:] |= id_map[1:] != id_map[:-1]
    blend[border] = 255
    return np.concatenate([
        img_rgb, overlay_labels(img_rgb, sem, palette,
                                ignore_index=ignore_index), blend
    ], 1)
