"""Boundary labels of BES and a boundary precision / recall / F score.

Chen et al., "Weakly Supervised Semantic Segmentation with Boundary
Exploration" (ECCV 2020), Sec. 3.1 and 4.1:

* :func:`threshold_localization`: eq. (1), localization maps to a map of
  reliable foreground / background / uncertain pixels;
  :func:`refine_localization_crf` adds the dCRF refinement of the reliable
  regions the way the authors' ``step/make_boundary_label.py`` does it;
* :func:`synthesize_boundary_labels`: eq. (2)-(3), boundary labels from the
  class proportions of a sliding window; :func:`synthesize_boundary_regions`
  the same decision with the non-boundary pixels split into the background
  and foreground sets ``Phi_bg`` / ``Phi_c`` of the boundary loss, eq. (4);
* :func:`boundary_counts`, :func:`boundary_prf`, :func:`prf_from_counts`:
  precision / recall / F of a predicted boundary map against the
  class-agnostic edges of a full mask (the evaluation of Sec. 4.3, Fig. 4,
  with a simplified matching).

Label maps hold class ids, ``bg_index`` (0) for background and
``ignore_index`` (255) for uncertain pixels. Plain numpy / scipy,
vectorised (pydensecrf only inside :func:`refine_localization_crf`).
"""
from dataclasses import astuple, dataclass
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

# codes of synthesize_boundary_regions
REGION_BG = 0  # non-boundary, background dominates the window (Phi_bg)
REGION_FG = 1  # non-boundary, a foreground class dominates (Phi_c)
REGION_BOUNDARY = 2  # boundary (Phi_bry)
UNCERTAIN = 255  # no supervision

BOUNDARY_RULES = ('authors', 'paper')


# ------------------------------------------------------------ eq. (1)
def _foreground_ids(num_channels: int, tags: Optional[Sequence[int]],
                    bg_index: int) -> np.ndarray:
    if tags is None:
        ids = np.arange(num_channels)
    else:
        ids = np.unique(np.asarray(tags, dtype=np.int64))
        if ids.size and (ids[0] < 0 or ids[-1] >= num_channels):
            raise ValueError(f'tags {ids.tolist()} must lie in '
                             f'[0, {num_channels})')
    return ids[ids != bg_index]


def _label_dtype(num_channels: int, ignore_index: int) -> np.dtype:
    return np.min_scalar_type(max(num_channels - 1, ignore_index, 0))


def _fg_top(probs: np.ndarray, fg: np.ndarray) -> Tuple[np.ndarray,
                                                        np.ndarray]:
    """Max over the foreground channels ``fg`` (float64) and the position
    in ``fg`` of the first maximum (ties: lowest class id)."""
    tagged = probs[fg].astype(np.float64)
    return tagged.max(0), tagged.argmax(0)


def _check_probs(probs: np.ndarray, theta_fg: float, theta_bg: float,
                 bg_index: int) -> None:
    if probs.ndim != 3:
        raise ValueError(f'probs must be (C, H, W), got {probs.shape}')
    if not 0 <= bg_index < probs.shape[0]:
        raise ValueError(f'bg_index {bg_index} is not a channel of probs '
                         f'{probs.shape}')
    if theta_bg > theta_fg:
        raise ValueError(f'theta_bg {theta_bg} > theta_fg {theta_fg}')


def threshold_localization(probs: np.ndarray,
                           tags: Optional[Sequence[int]] = None,
                           theta_fg: float = 0.30, theta_bg: float = 0.07,
                           bg_index: int = 0,
                           ignore_index: int = 255) -> np.ndarray:
    """Eq. (1): reliable labels from normalised localization maps.

    ``probs`` ``(C, H, W)``: channel ``c`` is the map ``P^c`` of class id
    ``c`` (eq. 8: each class map divided by its maximum, values in
    ``[0, 1]``), as the ``seg_logits`` of
    :class:`~mmseg_wsss.models.segmentors.CAMClassifier`.

    **Background channel.** ``P`` is defined for the foreground classes
    only; background is decided by thresholds on their maximum. The channel
    ``bg_index`` is therefore never read: CAMClassifier fills it with
    ``1 - max`` of the tagged foreground maps, which carries no further
    information, and any content (zeros, a real background score) gives
    the same result.

    ``tags``: the image's class ids (background may be listed; it is
    skipped); only these foreground channels compete (the authors compute
    maps for the image's classes only). ``None``: every channel but
    ``bg_index``.

    With ``m`` the maximum over the foreground channels (float64, whatever
    the dtype of ``probs``): the arg-max class where ``m > theta_fg``
    (exact ties: the lowest class id), ``bg_index`` where
    ``m < theta_bg``, ``ignore_index`` otherwise (both strict, as printed;
    the authors' code also makes ``m == theta_bg`` background). An image
    with no foreground class is all background (as the authors' code).
    Returns the smallest unsigned dtype holding the labels (uint8 for
    ``C <= 256``).
    """
    _check_probs(probs, theta_fg, theta_bg, bg_index)
    fg = _foreground_ids(probs.shape[0], tags, bg_index)
    out = np.full(probs.shape[1:], ignore_index,
                  dtype=_label_dtype(probs.shape[0], ignore_index))
    if not fg.size:
        out[...] = bg_index
        return out
    top, arg = _fg_top(probs, fg)
    out[top < theta_bg] = bg_index
    sure = top > theta_fg
    out[sure] = fg[arg[sure]]
    return out


def refine_localization_crf(img: np.ndarray, probs: np.ndarray,
                            tags: Optional[Sequence[int]] = None,
                            theta_fg: float = 0.30, theta_bg: float = 0.07,
                            bg_index: int = 0, ignore_index: int = 255,
                            gt_prob: float = 0.7, n_iters: int = 10,
                            sxy_gaussian: float = 3,
                            compat_gaussian: float = 3,
                            sxy_bilateral: float = 50, srgb: float = 5,
                            compat_bilateral: float = 10) -> np.ndarray:
    """Eq. (1) with "an additional dCRF operation ... to refine reliable
    foreground and background regions" (Sec. 3.1), as the authors' code
    (``step/make_boundary_label.py``, after IRNet) does it.

    ``img``: the ``(H, W, 3)`` uint8 RGB image; ``probs``, ``tags``,
    ``theta_*``, ``bg_index``, ``ignore_index`` as
    :func:`threshold_localization`. With ``K`` the tagged foreground
    classes and ``m`` / ``a`` the maximum / arg-max of their maps:

    1. foreground pass: the hard map "``a`` where ``m > theta_fg``, else
       background" over the ``1 + |K|`` labels is refined by a dense CRF;
    2. background pass: the same for "background where ``m < theta_bg``,
       else ``a``";
    3. a pixel takes the foreground pass's class where that is a
       foreground class, background where both passes say background,
       ``ignore_index`` otherwise.

    Without the CRF, steps 1-3 are exactly :func:`threshold_localization`.
    The CRF is run on the hard labels (unary ``-log gt_prob`` for the
    label, ``-log((1 - gt_prob) / |K|)`` for the others, i.e. pydensecrf's
    ``unary_from_labels(..., zero_unsure=False)``) with the authors'
    kernels: smoothness ``sxy=3, compat=3``, appearance ``sxy=50, srgb=5,
    compat=10``, 10 iterations (their ``crf_inference_label``); arg-max
    ties go to the lowest label. Differences from their code: ``m ==
    theta_bg`` is uncertain in step 2 (strict ``<`` of eq. 1, theirs
    ``<=``). An image with no tagged foreground class is all background
    (no CRF).
    """
    _check_probs(probs, theta_fg, theta_bg, bg_index)
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob {gt_prob} not in (0, 1)')
    fg = _foreground_ids(probs.shape[0], tags, bg_index)
    if img.shape[:2] != probs.shape[1:]:
        raise ValueError(f'img {img.shape} does not match probs '
                         f'{probs.shape}')
    if not fg.size:
        return threshold_localization(probs, tags, theta_fg, theta_bg,
                                      bg_index, ignore_index)
    top, arg = _fg_top(probs, fg)
    crf_kwargs = dict(n_iters=n_iters, sxy_gaussian=sxy_gaussian,
                      compat_gaussian=compat_gaussian,
                      sxy_bilateral=sxy_bilateral, srgb=srgb,
                      compat_bilateral=compat_bilateral)
    n = fg.size + 1  # label 0: background, label k: fg[k - 1]
    from .crf import dense_crf_labels  # pydensecrf only here
    fg_conf = dense_crf_labels(img, np.where(top > theta_fg, arg + 1, 0), n,
                               gt_prob, **crf_kwargs)
    bg_conf = dense_crf_labels(img, np.where(top < theta_bg, 0, arg + 1), n,
                               gt_prob, **crf_kwargs)
    out = np.full(probs.shape[1:], ignore_index,
                  dtype=_label_dtype(probs.shape[0], ignore_index))
    out[(fg_conf == 0) & (bg_conf == 0)] = bg_index
    is_fg = fg_conf > 0
    out[is_fg] = fg[fg_conf[is_fg] - 1]
    return out


# -------------------------------------------------------- eq. (2)-(3)
def _clipped_bounds(size: int, radius: int) -> Tuple[np.ndarray,
                                                     np.ndarray]:
    """Start / stop of the window ``[i - radius, i + radius]`` clipped to
    ``[0, size)``, for every ``i``."""
    i = np.arange(size)
    return (np.clip(i - radius, 0, size), np.clip(i + radius + 1, 0, size))


def _box_counts(mask: np.ndarray, rows: Tuple[np.ndarray, np.ndarray],
                cols: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Exact number of True pixels of ``mask`` in every clipped window,
    from int32 cumulative sums (one per axis)."""
    h, w = mask.shape
    acc = np.zeros((h + 1, w), dtype=np.int32)
    np.cumsum(mask, axis=0, dtype=np.int32, out=acc[1:])
    by_rows = acc[rows[1]] - acc[rows[0]]
    acc = np.zeros((h, w + 1), dtype=np.int32)
    np.cumsum(by_rows, axis=1, dtype=np.int32, out=acc[:, 1:])
    return acc[:, cols[1]] - acc[:, cols[0]]


def _window_statistics(labels: np.ndarray, window: int, bg_index: int,
                       ignore_index: int):
    """Per pixel: in-image window size ``n``, background count and the two
    largest foreground class counts (int32)."""
    h, w = labels.shape
    rows = _clipped_bounds(h, window // 2)
    cols = _clipped_bounds(w, window // 2)
    n = ((rows[1] - rows[0])[:, None] * (cols[1] - cols[0])[None, :])
    n_bg = _box_counts(labels == bg_index, rows, cols)
    top1 = np.zeros((h, w), dtype=np.int32)
    top2 = np.zeros((h, w), dtype=np.int32)
    for c in np.unique(labels):
        if c == bg_index or c == ignore_index:
            continue
        count = _box_counts(labels == c, rows, cols)
        np.maximum(top2, np.minimum(top1, count), out=top2)
        np.maximum(top1, count, out=top1)
    return n.astype(np.int32), n_bg, top1, top2


def _check_boundary_args(labels: np.ndarray, window: int, theta_scale: float,
                         theta_diff: float, rule: str) -> None:
    if labels.ndim != 2:
        raise ValueError(f'labels must be (H, W), got {labels.shape}')
    if labels.dtype.kind not in 'iub':
        raise ValueError(f'labels must be integer, got {labels.dtype}')
    if int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f'window {window} must be an odd positive integer')
    if theta_scale < 0 or theta_diff <= 0:
        raise ValueError(f'need theta_scale >= 0 and theta_diff > 0, got '
                         f'{theta_scale}, {theta_diff}')
    if rule not in BOUNDARY_RULES:
        raise ValueError(f'rule {rule!r} not in {BOUNDARY_RULES}')


def synthesize_boundary_regions(labels: np.ndarray, window: int = 13,
                                theta_scale: float = 0.35,
                                theta_diff: float = 0.10,
                                rule: str = 'authors', bg_index: int = 0,
                                ignore_index: int = 255) -> np.ndarray:
    """Eq. (2)-(3) with the non-boundary pixels split as eq. (4) needs.

    ``labels`` ``(H, W)``: the reliable label map of eq. (1) (e.g.
    :func:`threshold_localization`): ``bg_index``, foreground class ids
    (every other value) and ``ignore_index``. Returns uint8:

    * ``REGION_BG`` (0): non-boundary, background dominates (``Phi_bg``);
    * ``REGION_FG`` (1): non-boundary, a foreground class dominates
      (``Phi_c``);
    * ``REGION_BOUNDARY`` (2): boundary (``Phi_bry``);
    * ``UNCERTAIN`` (255): no supervision.

    **Statistics (eq. 2).** In the ``window x window`` window centred on
    each pixel (``window`` odd): ``N^0`` background pixels, ``N1 >= N2``
    the two largest per-class counts of foreground pixels (0 when absent),
    ``n`` the window's pixels inside the image. ``S = N / n``. Borders: the
    window is clipped to the image and the proportions are taken over the
    ``n`` pixels inside it, as the authors' ``F.avg_pool2d(...,
    padding=window // 2, count_include_pad=False)``; away from the borders
    ``n = w x w`` (eq. 2). ``ignore_index`` pixels count in ``n`` but in no
    ``N`` (the authors clamp 255 to an extra class outside their counts).
    The pixel's own label is not used.

    **Exact counts.** Counts are exact integers (int32 cumulative sums, no
    float pooling); every test takes one correctly-rounded float64 division
    of an integer (a count, or a difference of counts) by ``n`` and
    compares it with the float64 threshold, so a proportion that equals a
    threshold as decimals (e.g. ``(15 - 10) / 25 = 0.2 = 2 theta_diff``)
    compares as equal. The authors' float32 average pooling subtracts two
    rounded quotients and can land on either side of such a tie.

    **rule='authors'** (default; ``step/make_boundary_label.py`` of
    github.com/mt-cly/BES), with ``S1 = N1 / n``, ``S2 = N2 / n``,
    ``S0 = N^0 / n``:

    * background: ``S0 > 2 theta_scale`` and ``S0 - S1 >= 2 theta_diff``;
    * foreground: ``S1 > 2 theta_scale`` and ``S1 - S0 >= 2 theta_diff``;
    * boundary if either
      fg-bg: ``min(S1, S0) > theta_scale`` and ``|S1 - S0| < theta_diff``,
      or fg-fg: ``S2 > theta_scale`` and ``S1 - S2 < theta_diff``;
    * a later case overrides an earlier one (their order of assignment:
      boundary over foreground over background; background and foreground
      never overlap when ``theta_diff > 0``); otherwise uncertain.

    Their fg-fg and fg-bg boundaries have distinct codes in their PNGs but
    the same role in their loss (both are ``Phi_bry``), hence one code.

    **rule='paper'** (eq. 3 as printed):

    * non-boundary: ``min(S1, S0) > 2 theta_scale`` and
      ``|S1 - S0| >= 2 theta_diff``; ``REGION_FG`` if ``S1 > S0``, else
      ``REGION_BG`` (eq. 4's ``Phi_c`` / ``Phi_bg``; ``S1 != S0`` here);
    * boundary: ``min(S1, S0) > theta_scale`` and ``|S1 - S0| < theta_diff``;
    * otherwise uncertain.

    Since ``S1 + S0 <= 1``, ``min(S1, S0) <= 0.5``: with ``theta_scale >=
    0.25`` (the paper's 0.35 asks for both above 0.7) the printed
    non-boundary case never holds and no pixel supervises the non-boundary
    terms of eq. (4). The authors' rule asks for the *dominant* side only
    to exceed ``2 theta_scale`` and to lead by ``2 theta_diff``, and adds
    boundaries between two foreground classes, which eq. (3) (``max`` over
    classes against background only) cannot produce.

    Defaults are the paper's Sec. 4.1 (``w = 13``, ``theta_scale = 0.35``,
    ``theta_diff = 0.10``); the authors' ``run_sample.py`` uses
    ``theta_scale = 0.30``. Needs ``theta_scale >= 0``, ``theta_diff > 0``.
    """
    _check_boundary_args(labels, window, theta_scale, theta_diff, rule)
    n, n_bg, n1, n2 = _window_statistics(labels, int(window), bg_index,
                                         ignore_index)
    n = n.astype(np.float64)
    s0, s1 = n_bg / n, n1 / n
    diff = (n1 - n_bg) / n  # S1 - S0 from the exact integer difference
    ts, td = float(theta_scale), float(theta_diff)
    out = np.full(labels.shape, UNCERTAIN, dtype=np.uint8)
    if rule == 'authors':
        out[(s0 > 2 * ts) & (-diff >= 2 * td)] = REGION_BG
        out[(s1 > 2 * ts) & (diff >= 2 * td)] = REGION_FG
        fg_bg = (np.minimum(s0, s1) > ts) & (np.abs(diff) < td)
        fg_fg = (n2 / n > ts) & ((n1 - n2) / n < td)
        out[fg_bg | fg_fg] = REGION_BOUNDARY
    else:
        low = np.minimum(s0, s1)
        calm = (low > 2 * ts) & (np.abs(diff) >= 2 * td)
        out[calm & (diff < 0)] = REGION_BG
        out[calm & (diff > 0)] = REGION_FG
        out[(low > ts) & (np.abs(diff) < td)] = REGION_BOUNDARY
    return out


def synthesize_boundary_labels(labels: np.ndarray, window: int = 13,
                               theta_scale: float = 0.35,
                               theta_diff: float = 0.10,
                               rule: str = 'authors', bg_index: int = 0,
                               ignore_index: int = 255) -> np.ndarray:
    """Boundary labels ``B`` of eq. (3): uint8 0 (non-boundary), 1
    (boundary), 255 (uncertain).

    :func:`synthesize_boundary_regions` (see there for the statistics of
    eq. 2, the border handling, the ``'authors'`` and ``'paper'`` rules and
    their difference) with ``REGION_BG`` and ``REGION_FG`` merged into 0
    and ``REGION_BOUNDARY`` written as 1.
    """
    regions = synthesize_boundary_regions(labels, window, theta_scale,
                                          theta_diff, rule, bg_index,
                                          ignore_index)
    out = np.where(regions == REGION_BOUNDARY, 1, regions)
    out[regions == REGION_FG] = 0
    return out.astype(np.uint8)


# ------------------------------------------------------ boundary score
def gt_boundaries(labels: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """Class-agnostic edges of a full mask: the labelled pixels with a
    4-neighbour of another class that is labelled too (both sides of a
    class change are edges, so edges are two pixels thick). An
    ``ignore_index`` pixel is never an edge and makes no neighbour one; the
    image border is no edge."""
    if labels.ndim != 2:
        raise ValueError(f'labels must be (H, W), got {labels.shape}')
    valid = labels != ignore_index
    edge = np.zeros(labels.shape, dtype=bool)
    horiz = ((labels[:, 1:] != labels[:, :-1]) & valid[:, 1:]
             & valid[:, :-1])
    edge[:, 1:] |= horiz
    edge[:, :-1] |= horiz
    vert = (labels[1:] != labels[:-1]) & valid[1:] & valid[:-1]
    edge[1:] |= vert
    edge[:-1] |= vert
    return edge


@dataclass(frozen=True)
class BoundaryCounts:
    """Matching counts of :func:`boundary_counts`; add them to pool images
    (``sum(counts, BoundaryCounts())``)."""
    pred_matched: int = 0  # predicted boundary pixels near a GT edge
    pred_total: int = 0  # predicted boundary pixels (on labelled pixels)
    gt_matched: int = 0  # GT edge pixels near a predicted boundary
    gt_total: int = 0  # GT edge pixels

    def __add__(self, other: 'BoundaryCounts') -> 'BoundaryCounts':
        if not isinstance(other, BoundaryCounts):
            return NotImplemented
        return BoundaryCounts(*(a + b for a, b in zip(astuple(self),
                                                       astuple(other))))


class BoundaryPRF(NamedTuple):
    precision: float
    recall: float
    f: float
    counts: BoundaryCounts


def _within(targets: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels at Euclidean distance ``<= tolerance`` of a True pixel of
    ``targets`` (all False when there is none)."""
    if not targets.any():
        return np.zeros(targets.shape, dtype=bool)
    return ndimage.distance_transform_edt(~targets) <= tolerance


def boundary_counts(pred: np.ndarray, gt_labels: np.ndarray,
                    tolerance: float = 2, threshold: float = 0.5,
                    ignore_index: int = 255) -> BoundaryCounts:
    """Match a predicted boundary map against the edges of a full mask.

    ``pred`` ``(H, W)``: boundary probabilities (or a 0/1 map); a pixel is
    a predicted boundary where ``pred > threshold`` (MMSeg's binarisation
    of a one-channel head) and ``gt_labels`` is labelled (predictions on ``ignore_index`` pixels are dropped: neither
    counted nor matched). GT edges: :func:`gt_boundaries`.

    Matching (the distance-transform tolerance of the BSDS / SBD protocol,
    simplified: no one-to-one assignment): a predicted pixel is correct if
    a GT edge pixel lies within Euclidean distance ``tolerance`` (pixels;
    0: same pixel), a GT edge pixel is recalled if a predicted one does.
    """
    if pred.shape != gt_labels.shape:
        raise ValueError(f'pred {pred.shape} and gt {gt_labels.shape} '
                         'differ')
    if tolerance < 0:
        raise ValueError(f'tolerance {tolerance} < 0')
    edges = gt_boundaries(gt_labels, ignore_index)
    predicted = (pred > threshold) & (gt_labels != ignore_index)
    return BoundaryCounts(
        pred_matched=int(np.count_nonzero(predicted
                                          & _within(edges, tolerance))),
        pred_total=int(np.count_nonzero(predicted)),
        gt_matched=int(np.count_nonzero(edges
                                        & _within(predicted, tolerance))),
        gt_total=int(np.count_nonzero(edges)))


def prf_from_counts(counts: BoundaryCounts) -> Tuple[float, float, float]:
    """Precision, recall and F (harmonic mean) in ``[0, 1]`` from (pooled)
    counts; an undefined ratio is 0 (no predicted boundary: precision 0; no
    GT edge: recall 0; both 0: F 0), as the BSDS benchmark's
    ``collect_eval_bdry``."""
    p = counts.pred_matched / counts.pred_total if counts.pred_total else 0.
    r = counts.gt_matched / counts.gt_total if counts.gt_total else 0.
    f = 2 * p * r / (p + r) if p + r > 0 else 0.
    return p, r, f


def boundary_prf(pred: np.ndarray, gt_labels: np.ndarray,
                 tolerance: float = 2, threshold: float = 0.5,
                 ignore_index: int = 255) -> BoundaryPRF:
    """Boundary precision / recall / F of one map (Sec. 4.3, Fig. 4, with
    class-agnostic edges of the full mask as ground truth) and its counts,
    which pool over a dataset: ``prf_from_counts(sum(counts,
    BoundaryCounts()))``. Arguments as :func:`boundary_counts`."""
    counts = boundary_counts(pred, gt_labels, tolerance, threshold,
                             ignore_index)
    return BoundaryPRF(*prf_from_counts(counts), counts)
