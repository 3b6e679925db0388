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
