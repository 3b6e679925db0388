"""BES per image: the two label maps of the pipeline, composed from
:mod:`.boundaries`, :mod:`.random_walk` and :mod:`.crf`.

Chen et al., "Weakly Supervised Semantic Segmentation with Boundary
Exploration" (ECCV 2020):

* :func:`boundary_labels`: normalised CAMs (eq. 8) -> reliable labels
  (eq. 1, refined by a dense CRF as the authors do) -> boundary regions
  (eq. 2-3), the map BENet trains on (eq. 4);
* :func:`bes_pseudo_labels`: CAMs + BENet's boundary map -> random walk
  (eq. 5, IRN's settings with beta = 5) -> dense CRF (eq. 9, theta_alpha =
  20), the pseudo labels a segmentation network is retrained on (§4.3);
* :func:`cam_labels`: the CAM arg-max both report as the baseline
  (Table 1, "CAM").

Inputs are the image's maps at its own size: ``cams`` ``(C, H, W)`` with
channel ``c`` the map of class id ``c`` divided by its maximum (eq. 8, the
``seg_logits`` of :class:`~mmseg_wsss.models.segmentors.CAMClassifier`;
the ``bg_index`` channel is never read), ``tags`` the image's class ids,
``img`` the ``(H, W, 3)`` uint8 RGB image. ``bg_index=None`` serves sets
without a background class (CamVid): every tagged class is foreground and
no pixel is ever labelled background. Outputs are uint8 class-id maps
(255 = uncertain). Plain numpy / scipy (pydensecrf for the CRFs).
"""
from typing import NamedTuple, Optional, Sequence

import numpy as np

from . import random_walk as rw
from .boundaries import (UNCERTAIN, _foreground_ids, refine_localization_crf,
                         synthesize_boundary_regions, threshold_localization)

#: the dense CRF of eq. (9) for pseudo labels (§4.1), as the authors'
#: ``step/make_sem_seg.py`` runs it (IRN's ``crf_inference_label`` with
#: ``sxy=20``) on the hard random-walk labels: appearance kernel theta_alpha
#: = 20 (``sxy_bilateral``), theta_beta = 5 (``srgb``), w = 10
#: (``compat_bilateral``); smoothness kernel theta_gamma = 3
#: (``sxy_gaussian``), w = 3 (``compat_gaussian``); 10 iterations; unary
#: probability 0.7 for the given label. Eq. (9) as printed has
#: ``|p_i - p_j|`` unsquared in its first term; pydensecrf squares it.
PSEUDO_LABEL_CRF = dict(gt_prob=0.7, n_iters=10, sxy_bilateral=20, srgb=5,
                        compat_bilateral=10, sxy_gaussian=3,
                        compat_gaussian=3)


class BoundaryLabels(NamedTuple):
    """Stage 1 maps: ``cam`` (:func:`cam_labels`), ``reliable`` (eq. 1 +
    dCRF; 255 uncertain) and ``regions`` (eq. 2-3: 0 / 1 / 2 background /
    foreground / boundary, 255 uncertain)."""
    cam: np.ndarray
    reliable: np.ndarray
    regions: np.ndarray


class BESLabels(NamedTuple):
    """Stage 2 maps (Table 1's rows): ``cam`` (CAM arg-max), ``walk``
    (+ boundary exploration: random walk) and ``final`` (+ dCRF)."""
    cam: np.ndarray
    walk: np.ndarray
    final: np.ndarray


def foreground_classes(tags: Sequence[int], num_channels: int,
                       bg_index: Optional[int] = 0) -> np.ndarray:
    """The image's foreground class ids (sorted): ``tags`` without
    ``bg_index``; every tag when ``bg_index`` is None."""
    if tags is None:
        raise ValueError('BES needs the image tags')
    return _foreground_ids(num_channels, tags,
                           -1 if bg_index is None else bg_index)


def _check(cams: np.ndarray, img: Optional[np.ndarray]) -> None:
    if cams.ndim != 3:
        raise ValueError(f'cams must be (C, H, W), got {cams.shape}')
    if img is not None and img.shape[:2] != cams.shape[1:]:
        raise ValueError(f'img {img.shape} does not match cams {cams.shape}')


def _argmax_labels(scores: np.ndarray, fg: np.ndarray,
                   bg_index: Optional[int]) -> np.ndarray:
    """Class ids of the arg-max of ``scores``: planes ``[background, *fg]``
    (the background plane is skipped when ``bg_index`` is None)."""
    if bg_index is None:
        return fg[scores[1:].argmax(0)].astype(np.uint8)
    ids = np.concatenate([[bg_index], fg])
    return ids[scores.argmax(0)].astype(np.uint8)


def _no_foreground(shape, bg_index: Optional[int]) -> np.ndarray:
    if bg_index is None:
        raise ValueError('no tagged class: a set without background needs '
                         'at least one tag per image')
    return np.full(shape, bg_index, dtype=np.uint8)


def cam_labels(cams: np.ndarray, tags: Sequence[int], bg_score: float = 0.25,
               bg_index: Optional[int] = 0) -> np.ndarray:
    """Dense CAM segmentation: the arg-max over a constant background score
    ``bg_score`` and the tagged foreground CAMs (IRN's / BES's rule for
    the random-walk scores, so both stages share their background
    threshold; CAMClassifier's own arg-max, with its ``1 - max``
    background channel, is ``bg_score = 0.5``). Ties go to background,
    then to the lower class id."""
    _check(cams, None)
    fg = foreground_classes(tags, len(cams), bg_index)
    if not fg.size:
        return _no_foreground(cams.shape[1:], bg_index)
    scores = np.concatenate([np.full((1, *cams.shape[1:]), bg_score),
                             cams[fg]])
    return _argmax_labels(scores, fg, bg_index)


def boundary_labels(cams: np.ndarray, tags: Sequence[int],
                    img: Optional[np.ndarray] = None,
                    theta_fg: float = 0.30, theta_bg: float = 0.07,
                    crf: bool = True, window: int = 13,
                    theta_scale: float = 0.35, theta_diff: float = 0.10,
                    rule: str = 'authors', bg_score: float = 0.25,
                    bg_index: Optional[int] = 0) -> BoundaryLabels:
    """Stage 1 of BES (§3.1, "Synthesizing Boundary Labels").

    1. eq. (1) on the tagged foreground CAMs with ``theta_fg`` /
       ``theta_bg`` (§4.1: 0.30 / 0.07), refined by the authors' two dense
       CRF passes (:func:`~.boundaries.refine_localization_crf`, IRN's
       kernels) when ``crf`` (needs ``img``), else
       :func:`~.boundaries.threshold_localization`;
    2. eq. (2)-(3) on those labels: :func:`~.boundaries.
       synthesize_boundary_regions` with ``window`` (w = 13),
       ``theta_scale`` (0.35), ``theta_diff`` (0.10) and ``rule``.

    ``bg_index=None``: a zero background channel is put in front for
    eq. (1) and its pixels (every tagged CAM below ``theta_bg``) become
    uncertain: only boundaries between two classes arise (the authors'
    rule; the printed one has none). Also returns :func:`cam_labels`.
    """
    _check(cams, img)
    if crf and img is None:
        raise ValueError('the dense CRF of eq. (1) needs the image')
    cam = cam_labels(cams, tags, bg_score, bg_index)
    if bg_index is None:  # a virtual background channel 0
        fg = foreground_classes(tags, len(cams), None)
        probs = np.concatenate([np.zeros((1, *cams.shape[1:])), cams])
        tags, bg = (fg + 1).tolist(), 0
    else:
        probs, bg = cams, bg_index
    if crf:
        reliable = refine_localization_crf(img, probs, tags, theta_fg,
                                           theta_bg, bg, UNCERTAIN)
    else:
        reliable = threshold_localization(probs, tags, theta_fg, theta_bg,
                                          bg, UNCERTAIN)
    if bg_index is None:  # no class is background: uncertain
        reliable = np.where(reliable == 0, UNCERTAIN, reliable)
    regions = synthesize_boundary_regions(reliable, window, theta_scale,
                                          theta_diff, rule, bg, UNCERTAIN)
    if bg_index is None:
        reliable = np.where(reliable == UNCERTAIN, UNCERTAIN, reliable - 1)
    return BoundaryLabels(cam, reliable.astype(np.uint8), regions)


def _strided_boundary(boundary: np.ndarray, size, stride: int) -> np.ndarray:
    strided = rw.strided_size(size, stride)
    if boundary.shape == tuple(size) and stride > 1:
        return rw.pool_to_stride(boundary, stride, 'max')
    if boundary.shape == strided:
        return boundary
    raise ValueError(f'boundary {boundary.shape} is neither the image size '
                     f'{tuple(size)} nor its size at stride {stride}, '
                     f'{strided}')


def bes_pseudo_labels(cams: np.ndarray, tags: Sequence[int],
                      boundary: np.ndarray, img: np.ndarray,
                      beta: float = 5.0, radius: int = 5, steps: int = 256,
                      stride: int = 4, bg_score: float = 0.25,
                      crf: Optional[dict] = PSEUDO_LABEL_CRF,
                      bg_index: Optional[int] = 0) -> BESLabels:
    """Stage 2 of BES (§3.1, "Revising Localization Maps with Explored
    Boundaries"), as the authors' ``step/make_sem_seg.py``:

    1. the tagged foreground CAMs and ``boundary`` (BENet's probability,
       ``(H, W)``, or already at the strided size) at ``stride`` (4, IRN):
       CAMs by block means (:func:`~.random_walk.pool_to_stride`), each
       divided again by its maximum (eq. 8 at that size, IRN's strided
       CAMs); an image-size boundary by block maxima, so that a thin
       boundary keeps its strength;
    2. :func:`~.random_walk.random_walk`: eq. (5) affinities with ``beta``
       (5), ``radius`` (gamma = 5), ``steps`` (2^8) walk steps, bilinear
       upsampling to the image, division by the global maximum and a
       constant background score ``bg_score`` (0.25): the arg-max is
       ``walk``;
    3. a dense CRF on the hard ``walk`` labels
       (:func:`~.crf.dense_crf_labels`, ``crf`` its arguments: default
       :data:`PSEUDO_LABEL_CRF`, eq. 9 with theta_alpha = 20; ``None``
       skips it) is ``final``.

    ``cam`` is :func:`cam_labels` with the same ``bg_score``. An image
    with no tagged foreground class is background everywhere.
    """
    _check(cams, img)
    size = cams.shape[1:]
    fg = foreground_classes(tags, len(cams), bg_index)
    if not fg.size:
        bg = _no_foreground(size, bg_index)
        return BESLabels(bg, bg.copy(), bg.copy())
    cam = cam_labels(cams, tags, bg_score, bg_index)
    small = rw.pool_to_stride(cams[fg].astype(np.float64), stride, 'mean')
    small /= small.max((1, 2), keepdims=True) + 1e-5  # IRN's eq. (8)
    b = _strided_boundary(np.asarray(boundary, dtype=np.float64), size,
                          stride)
    scores = rw.random_walk(small, b, beta, radius, steps, stride, size,
                            bg_score)
    walk = _argmax_labels(scores, fg, bg_index)
    ids = fg if bg_index is None else np.concatenate([[bg_index], fg])
    if crf is None or len(ids) < 2:
        return BESLabels(cam, walk, walk.copy())
    from .crf import dense_crf_labels  # pydensecrf only here
    lut = np.zeros(256, dtype=np.int64)
    lut[ids] = np.arange(len(ids))  # class id -> CRF label (bg first)
    refined = dense_crf_labels(img, lut[walk], len(ids), **crf)
    return BESLabels(cam, walk, ids[refined].astype(np.uint8))
