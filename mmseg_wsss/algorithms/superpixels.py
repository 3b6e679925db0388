"""Scribble propagation through SLICO superpixels.

Section IV-A of the Centroid Loss paper: the image is over-segmented with
Adaptive-SLIC (SLICO) and every pixel of a superpixel that intersects a
scribble takes the scribble's class; the resulting pseudo-mask is scored
against the full mask with the "weak mIoU" (wmIoU,
:func:`~mmseg_wsss.algorithms.quality.weak_miou`). All maps use
``ignore_index`` (255) for unlabelled pixels. Everything is vectorised numpy.
"""
import numpy as np
from skimage.segmentation import slic


def slico_superpixels(img: np.ndarray, n_segments: int,
                      compactness: float = 10.0,
                      max_num_iter: int = 10) -> np.ndarray:
    """SLICO over-segmentation of an ``HxWx3`` RGB (or ``HxW`` gray) image.

    ``skimage.segmentation.slic(..., slic_zero=True)``: SLICO adapts the
    colour/space trade-off of every superpixel from the previous iteration,
    so ``compactness`` (skimage's default, 10) only sets the first one.
    ``n_segments`` is the requested number (the paper uses 30, 50 and 80);
    the connectivity step may return a few more or fewer. Returns an int32
    map of ids ``0..K-1``.
    """
    channel_axis = -1 if img.ndim == 3 else None
    labels = slic(img, n_segments=n_segments, compactness=compactness,
                  max_num_iter=max_num_iter, slic_zero=True, start_label=0,
                  channel_axis=channel_axis)
    return labels.astype(np.int32)


def scribble_pseudo_mask(scribble: np.ndarray, superpixels: np.ndarray,
                         num_classes: int,
                         ignore_index: int = 255) -> np.ndarray:
    """Propagate scribble labels to the superpixels they touch (Sec. IV-A).

    Rules (``scribble`` holds class ids on scribbled pixels and
    ``ignore_index`` elsewhere; ``superpixels`` holds non-negative ids):

    * a superpixel touched by scribbles of exactly one class takes that class
      on all its pixels;
    * a superpixel touched by scribbles of two or more classes is ambiguous:
      its pixels are ``ignore_index`` except the scribble pixels themselves;
    * scribble pixels always keep their own label;
    * a superpixel touched by no scribble stays ``ignore_index``.

    Returns a uint8 map. Raises ``ValueError`` on scribble values that are
    neither a class id in ``[0, num_classes)`` nor ``ignore_index``.
    """
    if scribble.shape != superpixels.shape:
        raise ValueError(f'scribble {scribble.shape} and superpixels '
                         f'{superpixels.shape} differ in shape')
    scr = scribble.ravel().astype(np.int64)
    sp = superpixels.ravel().astype(np.int64)
    labelled = scr != ignore_index
    if np.any(scr[labelled] < 0) or np.any(scr[labelled] >= num_classes):
        raise ValueError(f'scribble values must be in [0, {num_classes}) or '
                         f'{ignore_index}')
    n_sp = int(sp.max()) + 1 if sp.size else 0
    hits = np.bincount(sp[labelled] * num_classes + scr[labelled],
                       minlength=n_sp * num_classes).reshape(n_sp, num_classes)
    touched = hits > 0
    sp_label = np.where(touched.sum(1) == 1, touched.argmax(1), ignore_index)
    out = sp_label[sp]
    out[labelled] = scr[labelled]
    return out.reshape(scribble.shape).astype(np.uint8)


def pseudo_mask_from_scribbles(img: np.ndarray, scribble: np.ndarray,
                               n_segments: int, num_classes: int,
                               ignore_index: int = 255,
                               **slic_kwargs) -> np.ndarray:
    """:func:`slico_superpixels` followed by :func:`scribble_pseudo_mask`."""
    superpixels = slico_superpixels(img, n_segments, **slic_kwargs)
    return scribble_pseudo_mask(scribble, superpixels, num_classes,
                                ignore_index)
