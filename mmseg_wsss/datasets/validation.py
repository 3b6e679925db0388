"""Checks of weak annotations. Every failure raises :class:`WeakAnnotationError`
naming the file, the sample and what is wrong."""
import io
import json
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

#: EXIF tag of the image orientation (1 = as stored)
EXIF_ORIENTATION = 0x0112


class WeakAnnotationError(ValueError):
    """A weak annotation (or its image) is malformed."""

    def __init__(self, file: str, sample: str, problem: str) -> None:
        self.file, self.sample, self.problem = file, sample, problem
        super().__init__(f'{file}: sample {sample!r}: {problem}')

    def __reduce__(self):
        # picklable with its three arguments: a worker process of
        # track_parallel_progress can send it back to the parent
        return type(self), (self.file, self.sample, self.problem)


def read_json(path: str) -> dict:
    """A JSON file; failures name the file."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise WeakAnnotationError(path, '*', f'cannot read JSON: {e}')


def read_image(path: str, sample: str,
               flag: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """``cv2.imread`` that raises :class:`WeakAnnotationError` naming the
    file and sample when the file is missing or unreadable. The EXIF
    orientation is always ignored: images stay as stored, aligned with
    their maps (see :func:`exif_orientation`)."""
    arr = cv2.imread(path, flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is None:
        raise WeakAnnotationError(path, sample, 'missing or unreadable file')
    return arr


def exif_orientation(path: str) -> int:
    """The EXIF orientation tag of an image file (1, "as stored", when it
    has none or is unreadable).

    mmseg_wsss loads every image as stored, ignoring this tag, as the
    annotation maps are pixel arrays drawn on the stored image: a viewer
    that applies the tag shows it rotated against its masks.
    """
    try:
        with Image.open(path) as img:
            return int(img.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, ValueError):
        return 1


def decode_label_map(data: bytes, path: str, sample: str) -> np.ndarray:
    """A single-channel label map from PNG bytes, read as MMSeg reads maps
    (pillow): grayscale or 16-bit values as they are, a palette PNG (the
    VOC convention) as its palette indices. Raises
    :class:`WeakAnnotationError` naming the real problem: an empty file, a
    JPEG (lossy: it alters the ids along every region border), an
    unreadable file, or a colour image."""
    if not data:
        raise WeakAnnotationError(path, sample, 'empty file')
    if data[:3] == b'\xff\xd8\xff':
        raise WeakAnnotationError(
            path, sample, 'this is a JPEG file: lossy compression alters the '
            'class ids along region borders; save label maps as PNG')
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            mode = img.mode
            arr = np.array(img)
    except (OSError, ValueError, SyntaxError) as e:
        raise WeakAnnotationError(path, sample, f'not a readable image: {e}')
    if arr.ndim == 3:
        raise WeakAnnotationError(
            path, sample, f'expected a single-channel map (class or instance '
            f'ids, or a palette PNG), got a {mode} image with '
            f'{arr.shape[2]} channels')
    if mode == 'I':  # 16-bit PNGs some pillow versions widen to int32
        arr = arr.astype(np.uint16)
    return arr


def check_meta(meta: dict, path: str) -> dict:
    """``classes`` (and ``palette``) of a dataset's ``meta.json``, checked:
    a non-empty list of distinct names, one RGB triple per class."""
    classes = meta.get('classes') if isinstance(meta, dict) else None
    if (not isinstance(classes, list) or not classes
            or not all(isinstance(c, str) and c for c in classes)):
        raise WeakAnnotationError(
            path, '*', f'"classes" must be a non-empty list of class names, '
            f'got {classes!r}')
    if len(set(classes)) != len(classes):
        raise WeakAnnotationError(path, '*',
                                  f'"classes" repeats names: {classes}')
    out = dict(classes=tuple(classes))
    if 'palette' in meta:
        palette = meta['palette']
        ok = isinstance(palette, list) and all(
            isinstance(p, (list, tuple)) and len(p) == 3 and all(
                isinstance(v, int) and 0 <= v <= 255 for v in p)
            for p in palette)
        if not ok or len(palette) != len(classes):
            raise WeakAnnotationError(
                path, '*', f'"palette" must hold one [r, g, b] (0-255) per '
                f'class ({len(classes)}), got {palette!r}')
        out['palette'] = [list(p) for p in palette]
    return out


def check_tags(tags: Sequence[int], num_classes: int, file: str,
               sample: str) -> np.ndarray:
    """Tags must be class indices in ``[0, num_classes)``."""
    arr = np.asarray(tags)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise WeakAnnotationError(
            file, sample, f'tags must be a list of class ids, got {tags!r}')
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise WeakAnnotationError(
            file, sample, f'tags name unknown class ids {bad.tolist()} '
            f'(the dataset has {num_classes} classes)')
    return np.unique(arr).astype(np.int64)


def check_proportions(props: Sequence[float],
                      num_classes: int,
                      file: str,
                      sample: str,
                      atol: float = 1e-3) -> np.ndarray:
    """Proportions: ``num_classes`` non-negative fractions summing to 1."""
    arr = np.asarray(props, dtype=np.float64)
    if arr.shape != (num_classes, ):
        raise WeakAnnotationError(
            file, sample, f'expected {num_classes} class proportions, '
            f'got shape {arr.shape}')
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise WeakAnnotationError(
            file, sample, f'proportions must be finite and >= 0, got '
            f'{arr.tolist()}')
    if abs(arr.sum() - 1.0) > atol:
        raise WeakAnnotationError(
            file, sample, f'proportions sum to {arr.sum():.6f}, not 1 '
            f'(tolerance {atol})')
    return arr.astype(np.float32)


def check_boxes(boxes_xyxy: np.ndarray, img_hw: Tuple[int, int], file: str,
                sample: str) -> None:
    """Boxes (x1, y1, x2, y2) must have positive area and lie in the image."""
    h, w = img_hw
    if boxes_xyxy.size == 0:
        return
    x1, y1, x2, y2 = boxes_xyxy.T
    zero = np.flatnonzero((x2 <= x1) | (y2 <= y1))
    if zero.size:
        raise WeakAnnotationError(
            file, sample, f'box {boxes_xyxy[zero[0]].tolist()} has zero area')
    eps = 1e-3
    out = np.flatnonzero((x1 < -eps) | (y1 < -eps) | (x2 > w + eps)
                         | (y2 > h + eps))
    if out.size:
        raise WeakAnnotationError(
            file, sample, f'box {boxes_xyxy[out[0]].tolist()} lies outside '
            f'the {w}x{h} image')


def check_label_map(label_map: np.ndarray,
                    img_hw: Tuple[int, int],
                    file: str,
                    sample: str,
                    num_classes: Optional[int] = None,
                    ignore_index: int = 255) -> None:
    """A pixel map must match the image size; a class map must hold class
    ids or ``ignore_index`` only (``num_classes=None`` skips that check, for
    instance-id maps)."""
    if label_map.shape[:2] != tuple(img_hw):
        raise WeakAnnotationError(
            file, sample, f'map size {label_map.shape[1]}x'
            f'{label_map.shape[0]} differs from the image size '
            f'{img_hw[1]}x{img_hw[0]}')
    if num_classes is None:
        return
    values = np.unique(label_map)
    bad = values[(values >= num_classes) & (values != ignore_index)]
    if bad.size:
        raise WeakAnnotationError(
            file, sample, f'class ids {bad.tolist()} out of range (the '
            f'dataset has {num_classes} classes, {ignore_index} = ignore)')
