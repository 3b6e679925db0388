"""Fully connected CRF (Krähenbühl & Koltun 2011) on softmax outputs.

Used as the post-processing stage of Section V-F of the Centroid Loss paper
and to build the smoothed targets of SEC's constrain loss (eq. 13). Defaults
are those of SEC and of the pydensecrf example (also DeepLab-style):
appearance kernel ``sxy=80, srgb=13, compat=10``, smoothness kernel
``sxy=3, compat=3``, 10 mean-field iterations. With the 100-640 px images of
this project an 80 px spatial range lets colour similarity spread labels
across a whole defect while staying local for large images.
"""
from functools import partial
from multiprocessing import get_context
from typing import List, Optional, Sequence

import numpy as np
import pydensecrf.densecrf as dcrf

_MIN_PROB = 1e-8


def dense_crf(img: np.ndarray, probs: np.ndarray, n_iters: int = 10,
              sxy_gaussian: float = 3, compat_gaussian: float = 3,
              sxy_bilateral: float = 80, srgb: float = 13,
              compat_bilateral: float = 10) -> np.ndarray:
    """Refine ``probs`` (``(C, H, W)``, C >= 2) with a dense CRF.

    ``img`` is the ``HxWx3`` uint8 RGB image (an ``HxW`` gray image is
    replicated to 3 channels). The unary is ``-log(clip(probs))``; the
    pairwise terms are a Gaussian (smoothness) and a bilateral (appearance)
    Potts kernel. Returns the ``(C, H, W)`` float32 marginals (each pixel a
    distribution). A binary problem must be given as 2 channels.
    """
    if probs.ndim != 3 or probs.shape[0] < 2:
        raise ValueError('probs must be (C, H, W) with C >= 2 (give a binary '
                         f'problem as 2 channels), got {probs.shape}')
    num_classes, h, w = probs.shape
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.shape != (h, w, 3):
        raise ValueError(f'img {img.shape} does not match probs {probs.shape}')
    unary = -np.log(np.clip(probs, _MIN_PROB, 1.0)).reshape(num_classes, -1)
    crf = dcrf.DenseCRF2D(w, h, num_classes)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=sxy_gaussian, compat=compat_gaussian)
    crf.addPairwiseBilateral(sxy=sxy_bilateral, srgb=srgb,
                             rgbim=np.ascontiguousarray(img, dtype=np.uint8),
                             compat=compat_bilateral)
    marginals = crf.inference(n_iters)
    return np.asarray(marginals, dtype=np.float32).reshape(num_classes, h, w)


def dense_crf_labels(img: np.ndarray, labels: np.ndarray, num_labels: int,
                     gt_prob: float = 0.7, **kwargs) -> np.ndarray:
    """Dense CRF on a hard label map, as IRN's / BES's
    ``crf_inference_label``: the unary of pydensecrf's
    ``unary_from_labels(labels, num_labels, gt_prob, zero_unsure=False)``
    (probability ``gt_prob`` for the given label, the rest shared equally
    by the other ``num_labels - 1``), :func:`dense_crf` with ``kwargs``,
    and the arg-max of the marginals (ties: the lowest label).

    ``labels`` ``(H, W)`` holds ids in ``[0, num_labels)``, ``num_labels >=
    2``. Returns ``(H, W)`` int64.
    """
    if num_labels < 2:
        raise ValueError(f'a CRF needs two or more labels, got {num_labels}')
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob {gt_prob} not in (0, 1)')
    ids = np.asarray(labels, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= num_labels):
        raise ValueError(f'labels must lie in [0, {num_labels})')
    probs = np.full((num_labels, *ids.shape),
                    (1 - gt_prob) / (num_labels - 1), dtype=np.float64)
    np.put_along_axis(probs, ids[None], gt_prob, axis=0)
    return dense_crf(img, probs, **kwargs).argmax(0)


def dense_crf_batch(imgs: Sequence[np.ndarray],
                    probs_list: Sequence[np.ndarray], num_workers: int = 2,
                    mp_context: Optional[str] = None,
                    **kwargs) -> List[np.ndarray]:
    """:func:`dense_crf` over a batch, in a process pool of ``num_workers``
    (serial when ``num_workers <= 1``). Order is preserved; ``kwargs`` go to
    :func:`dense_crf`. ``mp_context`` picks the start method (``'spawn'``,
    ``'fork'``, ...; the platform default when ``None``): the worker is a
    module-level function, so every method works.
    """
    if len(imgs) != len(probs_list):
        raise ValueError(f'{len(imgs)} images but {len(probs_list)} '
                         'probability maps')
    fn = partial(dense_crf, **kwargs)
    if num_workers <= 1 or len(imgs) <= 1:
        return [fn(img, p) for img, p in zip(imgs, probs_list)]
    with get_context(mp_context).Pool(min(num_workers, len(imgs))) as pool:
        return pool.starmap(fn, zip(imgs, probs_list))
