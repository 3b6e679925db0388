"""Seed cues and seeded region growing of DSRG.

Huang et al., "Weakly-Supervised Semantic Segmentation Network with Deep
Seeded Region Growing" (CVPR 2018): seed cues from class activation maps
(Sec. 3.1, 4.1) and their growth into unlabelled pixels under the similarity
criterion of eq. (3) (Sec. 3.3). The precision / recall / IoU of the
resulting supervision (Sec. 4.5, Fig. 4) is
:func:`mmseg_wsss.algorithms.quality.seed_quality`; the balanced seeding
loss of eq. (1) is
:func:`mmseg_wsss.models.losses.functional.balanced_seed_loss`.

Maps hold class ids on labelled pixels and ``ignore_index`` (255) elsewhere.
``tags`` are the image's class ids taken literally, the background included
when present (the convention of the datasets' ``weak/tags.json``; DSRG's
VOC images always contain background, so list ``bg_index`` there). Plain
numpy / scipy, vectorised.
"""
from typing import Optional, Sequence

import numpy as np
from scipy import ndimage

_EIGHT = np.ones((3, 3), dtype=bool)


def _tag_ids(tags: Sequence[int], num_classes: int) -> np.ndarray:
    """Sorted unique tag ids; ``ValueError`` outside ``[0, num_classes)``."""
    ids = np.unique(np.asarray(tags, dtype=np.int64))
    if ids.size and (ids[0] < 0 or ids[-1] >= num_classes):
        raise ValueError(f'tags {ids.tolist()} must lie in [0, {num_classes})')
    return ids


def grow_seeds(probs: np.ndarray, seeds: np.ndarray, tags: Sequence[int],
               theta_fg: float = 0.85, theta_bg: float = 0.99,
               bg_index: Optional[int] = 0,
               ignore_index: int = 255) -> np.ndarray:
    """One DSRG region-growing step ``DSRG(S, H)`` (Sec. 3.3, eq. 3).

    ``probs`` ``(C, H, W)`` is the segmentation map ``H``, ``seeds``
    ``(H, W)`` the seed cues ``S``. An unlabelled pixel ``u`` satisfies the
    criterion ``P`` for class ``c`` when

    * ``c`` is its arg-max over the tagged classes: untagged classes'
      probabilities are ignored (as in the authors' code); exact ties go to
      the lowest class id (as ``np.argmax``);
    * ``H[c, u] >= theta``, ``theta_bg`` for ``bg_index`` and ``theta_fg``
      otherwise, compared in float64 whatever the dtype of ``probs``
      (``>=`` as in eq. 3; the authors' code uses ``>``).
      ``bg_index=None``: ``theta_fg`` for every class.

    ``u`` is labelled ``c`` if it is 8-connected to a seed of ``c`` through
    seeds of ``c`` and pixels satisfying ``P`` for ``c``: the fixed point of
    the paper's visiting process ``V_c``, computed, as the paper suggests,
    with connected components. A pixel satisfies ``P`` for at most one
    class, so the result does not depend on the order of the classes.

    Seeds never change; unreached pixels stay ``ignore_index``. Growth runs
    for the tagged classes only (``V_c`` for the image's classes): seeds of
    an untagged class keep their label and block growth but never grow.
    """
    if probs.ndim != 3 or probs.shape[1:] != seeds.shape:
        raise ValueError(f'probs {probs.shape} must be (C, *{seeds.shape})')
    tags = _tag_ids(tags, probs.shape[0])
    grown = seeds.copy()
    if not tags.size:
        return grown
    tagged = probs[tags]
    top = tagged.max(0)
    label = np.full(top.shape, tags[-1])
    for c, plane in zip(tags[-2::-1], tagged[-2::-1]):  # ties: lowest id
        label[plane == top] = c
    theta = np.where(label == bg_index, theta_bg, theta_fg)
    unlabelled = seeds == ignore_index
    candidate = np.where(unlabelled & (top >= theta), label, -1)
    for c in tags:
        seed_c = seeds == c
        if not seed_c.any():
            continue
        comp, n = ndimage.label(seed_c | (candidate == c), structure=_EIGHT)
        keep = np.zeros(n + 1, dtype=bool)
        keep[comp[seed_c]] = True
        grown[keep.take(comp)] = c
    return grown


def grow_seeds_batch(probs: np.ndarray, seeds: np.ndarray,
                     tags: Sequence[Sequence[int]], **kwargs) -> np.ndarray:
    """:func:`grow_seeds` on ``(N, C, H, W)`` / ``(N, H, W)`` with one tag
    list per image; ``kwargs`` go to :func:`grow_seeds`."""
    if not len(probs) == len(seeds) == len(tags):
        raise ValueError(f'{len(probs)} maps, {len(seeds)} seed maps and '
                         f'{len(tags)} tag lists')
    grown = np.empty_like(seeds)
    for i, (p, s, t) in enumerate(zip(probs, seeds, tags)):
        grown[i] = grow_seeds(p, s, t, **kwargs)
    return grown


def cam_seeds(cams: np.ndarray, tags: Sequence[int], fg_fraction: float = 0.2,
              bg_threshold: float = 0.06, bg_index: Optional[int] = 0,
              ignore_index: int = 255,
              background: Optional[np.ndarray] = None) -> np.ndarray:
    """Seed cues from class activation maps ``cams`` ``(C, H, W)`` (Sec. 3.1,
    4.1).

    Foreground: for each tagged class ``c != bg_index``, the
    ``k = round(fg_fraction * H * W)`` (the paper's top 20%) pixels of
    largest ``cams[c]`` (ties at the ``k``-th value included) with
    ``cams[c] > 0`` (a zero / negative activation is no evidence, which
    keeps mostly-zero CAMs from seeding their whole zero plateau). A pixel claimed by several classes takes the
    one of highest normalised CAM ``cams[c] / max(cams[c])`` (ties: lowest
    class id).

    Background (only if ``bg_index`` is tagged): the paper thresholds a
    saliency map (normalised saliency < 0.06), which is not available here;
    the default cue is "every tagged foreground class's normalised CAM is
    below ``bg_threshold``" (the paper's 0.06 by default; every pixel when
    no foreground class is tagged). A
    boolean ``(H, W)`` ``background`` (e.g. thresholded saliency) replaces
    it. Foreground seeds take precedence over the background cue.
    """
    if not 0 <= fg_fraction <= 1:
        raise ValueError(f'fg_fraction {fg_fraction} not in [0, 1]')
    num_classes, h, w = cams.shape
    tags = _tag_ids(tags, num_classes)
    fg = tags[tags != bg_index]
    cam = cams[fg].astype(np.float64)
    peak = cam.max((1, 2), keepdims=True, initial=0)
    norm = cam / np.where(peak > 0, peak, 1)
    dtype = np.min_scalar_type(max(num_classes - 1, ignore_index))
    out = np.full((h, w), ignore_index, dtype=dtype)
    if bg_index is not None and bg_index in tags:
        if background is None:
            background = (norm < bg_threshold).all(0)
        elif background.shape != (h, w):
            raise ValueError(f'background {background.shape} != {(h, w)}')
        out[background] = bg_index
    k = int(round(fg_fraction * h * w))
    if fg.size and k:
        kth = np.partition(cam.reshape(len(fg), -1), -k, axis=1)[:, -k]
        claimed = (cam >= kth[:, None, None]) & (cam > 0)
        winner = np.where(claimed, norm, -np.inf).argmax(0)
        seeded = claimed.any(0)
        out[seeded] = fg[winner[seeded]]
    return out
