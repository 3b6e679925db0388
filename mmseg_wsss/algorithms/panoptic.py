"""Panoptic Quality, AP^r and COCO panoptic output of non-overlapping
instance segmentations.

Li, Arnab and Torr, "Weakly- and Semi-Supervised Panoptic Segmentation"
(ECCV 2018), Sec. 4.1:

* :func:`panoptic_segments`: the segments of a class map + instance map
  pair (one per stuff class, one per thing instance, the rest VOID);
* :func:`pq_stats` / :class:`PQStats` / :func:`pq_per_class` /
  :func:`pq_average`: the Panoptic Quality of eq. (5), PQ = SQ x RQ (the
  paper's DQ), computed exactly as panopticapi's ``pq_compute`` does;
* :func:`ap_r` / :func:`ap_r_from_instances` / :class:`APr`: the AP^r of
  instance masks at IoU thresholds and AP^r_vol, its mean over the
  thresholds (0.1 to 0.9 on VOC, 0.5 to 0.95 on Cityscapes);
* :func:`to_coco_panoptic`, :func:`coco_segments_info`, :func:`id2rgb`,
  :func:`rgb2id`: a panoptic map as a COCO panoptic PNG and its
  ``segments_info``.

Class maps hold class ids and ``ignore_index`` (255) on unlabelled pixels;
instance maps hold instance ids, 0 for none; segment id maps hold segment
ids, 0 (:data:`VOID`) for VOID. Plain numpy, vectorised: the pixels of an
image are counted by one ``np.unique`` over combined keys (e.g. gt segment x
predicted segment), never in Python loops.
"""
from dataclasses import dataclass, field
from typing import (Dict, Iterable, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)

import numpy as np

VOID = 0  # segment id of VOID pixels
MAX_SEGMENT_ID = (1 << 24) - 1  # the largest id an RGB PNG holds
AP_VOL_THRESHOLDS = tuple(i / 10 for i in range(1, 10))  # VOC's AP^r_vol


# ------------------------------------------------------------- segments
class Segments(NamedTuple):
    """The segments of a segment id map, one entry each (ids unique, > 0).

    ``iscrowd`` marks crowd regions (COCO's ``iscrowd``): never matched, and
    an unmatched prediction lying mostly on VOID and the crowd region of its
    category is no false positive. ``areas`` are pixel counts.
    """
    ids: np.ndarray  # (S,) int64
    categories: np.ndarray  # (S,) int64, >= 0
    areas: np.ndarray  # (S,) int64
    iscrowd: np.ndarray  # (S,) bool


def _int_map(a: np.ndarray, name: str) -> np.ndarray:
    """``a`` checked: a 2-D map of non-negative integers (any int dtype)."""
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind not in 'iub':
        raise ValueError(f'{name} must be a 2-D integer map, got '
                         f'{a.dtype} {a.shape}')
    if a.size and a.min() < 0:
        raise ValueError(f'{name} holds negative values')
    return a


def _int_type(bound: int) -> type:
    """The narrowest of int32 / int64 holding ``[0, bound)`` (int32 halves
    the memory traffic of the per-pixel arithmetic and sorts)."""
    return np.int32 if bound <= 1 << 31 else np.int64


def _lookup(values: np.ndarray, keys: np.ndarray,
            codes: np.ndarray) -> np.ndarray:
    """``codes[i]`` where ``values == keys[i]`` (``keys`` sorted, unique),
    0 elsewhere: a table for small values, else a binary search."""
    top = max(int(values.max(initial=0)), int(keys.max(initial=0))) + 1
    if top <= 4 * values.size + 65536:
        table = np.zeros(top, codes.dtype)
        table[keys] = codes
        return np.take(table, values)
    keys, codes = np.r_[-1, keys], np.r_[0, codes]
    pos = np.searchsorted(keys, values, 'right') - 1
    return np.where(keys[pos] == values, codes[pos], 0)


def panoptic_segments(sem: np.ndarray,
                      inst: np.ndarray,
                      thing_classes: Iterable[int],
                      ignore_index: int = 255,
                      crowd_ids: Iterable[int] = ()
                      ) -> Tuple[np.ndarray, Segments]:
    """Segment id map and segments of a (class map, instance map) pair.

    * a stuff class (a class of ``sem`` not in ``thing_classes``) is one
      segment: all its pixels;
    * the thing pixels of each instance id > 0 are one segment, of the
      majority thing class among them (ties: the lowest class id);
    * thing pixels of instance id 0 and ``ignore_index`` pixels are VOID.

    Segment ids run from 1: stuff classes by increasing class, then
    instances by increasing instance id. ``crowd_ids``: the instance ids
    whose segments are crowd regions (for another choice, pass
    ``segments._replace(iscrowd=...)`` on).

    Returns:
        The ``(H, W)`` int32 segment id map (0 = VOID) and its
        :class:`Segments`.
    """
    sem, inst = _int_map(sem, 'sem'), _int_map(inst, 'inst')
    if sem.shape != inst.shape:
        raise ValueError(f'sem {sem.shape} and inst {inst.shape} differ')
    if ignore_index < 0:
        raise ValueError(f'ignore_index {ignore_index} < 0')
    shape = sem.shape
    n = max(int(sem.max(initial=0)), ignore_index) + 1  # class table size
    dtype = _int_type((n + 2 + int(inst.max(initial=0))) * n)
    sem, inst = sem.ravel().astype(dtype), inst.ravel().astype(dtype)
    is_thing = np.zeros(n, bool)
    things = np.fromiter(thing_classes, np.int64)
    is_thing[things[(things >= 0) & (things < n)]] = True
    is_thing[ignore_index] = False
    # key: 1 + the class of a stuff pixel, n + 1 + the id of a thing pixel;
    # VOID: ignore_index + 1 and n + 1 (instance 0)
    key = np.where(np.take(is_thing, sem), inst + (n + 1), sem + 1)
    # (key, class) pairs: the segments, their areas and majority classes
    pairs, counts = np.unique(key * n + sem, return_counts=True)
    pair_key, pair_cls = np.divmod(pairs, n)
    kept = (pair_key != ignore_index + 1) & (pair_key != n + 1)
    pair_key, pair_cls, counts = pair_key[kept], pair_cls[kept], counts[kept]
    keys, start = np.unique(pair_key, return_index=True)
    order = np.lexsort((pair_cls, -counts, pair_key))
    first = order[np.diff(np.r_[-1, pair_key[order]]) != 0]
    ids = np.arange(1, len(keys) + 1, dtype=np.int64)
    crowd = (keys > n + 1) & np.isin(keys - (n + 1),
                                     np.fromiter(crowd_ids, np.int64))
    return _lookup(key, keys, ids.astype(np.int32)).reshape(shape), \
        Segments(ids, pair_cls[first].astype(np.int64),
                 np.add.reduceat(counts, start) if len(start) else
                 np.zeros(0, np.int64), crowd)


# ----------------------------------------------------------- PQ, eq. (5)
def _padded(a: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([a, np.zeros(n - len(a), a.dtype)])


@dataclass(eq=False)
class PQStats:
    """Per-category matching counts (index = category id), summed image by
    image with ``+``: true positives, false positives, false negatives and
    the sum of the true positives' IoUs (panopticapi's ``PQStat``)."""
    tp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fn: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    iou: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.tp)

    def __add__(self, other: 'PQStats') -> 'PQStats':
        n = max(len(self), len(other))
        return PQStats(*(_padded(a, n) + _padded(b, n) for a, b in zip(
            (self.tp, self.fp, self.fn, self.iou),
            (other.tp, other.fp, other.fn, other.iou))))


def _segment_index(id_map: np.ndarray, segments: Segments,
                   name: str) -> np.ndarray:
    """Flat index of each pixel's segment in ``segments``, plus one (0 =
    VOID); a ValueError for ids missing from ``segments``."""
    flat = _int_map(id_map, name).ravel()
    ids = segments.ids
    if np.array_equal(ids, np.arange(1, len(ids) + 1)):
        # the numbering of panoptic_segments: ids are their own indices
        if flat.max(initial=0) <= len(ids):
            return flat
    elif np.any(ids <= VOID) or len(np.unique(ids)) != len(ids):
        raise ValueError(f'the segment ids of {name} must be unique and > 0')
    order = np.argsort(ids)
    index = _lookup(flat, ids[order], order + 1)
    unknown = (index == 0) & (flat != VOID)
    if unknown.any():
        raise ValueError(f'{name} holds segment ids '
                         f'{np.unique(flat[unknown])[:10].tolist()} '
                         'missing from its segments')
    return index


def pq_stats(pred_map: np.ndarray, pred_segments: Segments,
             gt_map: np.ndarray, gt_segments: Segments) -> PQStats:
    """Matching counts of one image for the Panoptic Quality, eq. (5).

    As panopticapi's ``pq_compute_single_core``:

    * IoU = inter / (pred area + gt area - inter - pred area on VOID);
    * a (prediction, ground truth) pair of one category with IoU > 0.5 is
      a true positive (such a match is unique); crowd segments are never
      matched;
    * an unmatched non-crowd ground-truth segment is a false negative;
    * an unmatched prediction is a false positive unless (its pixels on
      VOID + on the crowd region of its category) / its area > 0.5. With
      several crowd segments of one category, the crowd region is the last
      of them in ``gt_segments`` (panopticapi keeps one per category).

    Areas are counted on the maps (``Segments.areas`` are not read). Every
    id of a map must be VOID or in its segments; a predicted segment
    without pixels is a ValueError, as in panopticapi.
    """
    if np.shape(pred_map) != np.shape(gt_map):
        raise ValueError(f'pred {np.shape(pred_map)} and gt '
                         f'{np.shape(gt_map)} differ')
    pi = _segment_index(pred_map, pred_segments, 'pred_map')
    gi = _segment_index(gt_map, gt_segments, 'gt_map')
    n_pred = len(pred_segments.ids) + 1
    n_gt = len(gt_segments.ids) + 1
    dtype = _int_type(n_gt * n_pred)
    keys, inter = np.unique(
        gi.astype(dtype, copy=False) * n_pred + pi.astype(dtype, copy=False),
        return_counts=True)
    g, p = np.divmod(keys, n_pred)
    pred_area = np.bincount(p, inter, n_pred)
    gt_area = np.bincount(g, inter, n_gt)
    if np.any(pred_area[1:] == 0):
        raise ValueError('predicted segments '
                         f'{pred_segments.ids[pred_area[1:] == 0].tolist()} '
                         'have no pixel')
    pred_cat = np.r_[-1, pred_segments.categories]
    gt_cat = np.r_[-2, gt_segments.categories]
    gt_crowd = np.r_[True, gt_segments.iscrowd.astype(bool)]
    on_void = np.bincount(p[g == VOID], inter[g == VOID], n_pred)
    # true positives
    pair = (g > 0) & (p > 0) & ~gt_crowd[g] & (gt_cat[g] == pred_cat[p])
    gp, pp, ip = g[pair], p[pair], inter[pair]
    iou = ip / (pred_area[pp] + gt_area[gp] - ip - on_void[pp])
    match = iou > 0.5
    gt_matched = np.zeros(len(gt_cat), bool)
    gt_matched[gp[match]] = True
    pred_matched = np.zeros(n_pred, bool)
    pred_matched[pp[match]] = True
    # false negatives: unmatched, non-crowd ground truth
    fn_cat = gt_cat[~gt_matched & ~gt_crowd]
    # false positives: unmatched, not mostly on VOID + crowd of its category
    crowd = np.flatnonzero(gt_crowd)[1:][::-1]  # last first
    last = crowd[np.unique(gt_cat[crowd], return_index=True)[1]]
    last_crowd = np.zeros(len(gt_cat), bool)
    last_crowd[last] = True
    on_crowd = last_crowd[g] & (gt_cat[g] == pred_cat[p])
    ignored = on_void + np.bincount(p[on_crowd], inter[on_crowd], n_pred)
    fp = ~pred_matched[1:] & (ignored[1:] / pred_area[1:] <= 0.5)
    fp_cat = pred_segments.categories[fp]
    n = 1 + int(max(pred_segments.categories.max(initial=-1),
                    gt_segments.categories.max(initial=-1)))
    tp_cat = gt_cat[gp[match]]
    return PQStats(np.bincount(tp_cat, minlength=n),
                   np.bincount(fp_cat, minlength=n),
                   np.bincount(fn_cat, minlength=n),
                   np.bincount(tp_cat, iou[match], minlength=n))


def pq_per_class(stats: PQStats) -> Tuple[np.ndarray, np.ndarray,
                                          np.ndarray]:
    """PQ, SQ and RQ of each category (eq. 5): PQ = IoU sum / (TP + FP / 2
    + FN / 2), SQ = IoU sum / TP (0 without TP), RQ = TP / (TP + FP / 2 +
    FN / 2). ``nan`` where TP + FP + FN = 0 (panopticapi reports 0 there;
    such a category is left out of :func:`pq_average`)."""
    tp = stats.tp.astype(np.float64)
    den = tp + 0.5 * stats.fp + 0.5 * stats.fn
    seen = den > 0
    safe = np.where(seen, den, 1)
    pq = np.where(seen, stats.iou / safe, np.nan)
    sq = np.where(seen, stats.iou / np.where(tp > 0, tp, 1), np.nan)
    rq = np.where(seen, tp / safe, np.nan)
    return pq, sq, rq


def pq_average(stats: PQStats,
               categories: Iterable[int]) -> Dict[str, float]:
    """Mean ``pq``, ``sq``, ``rq`` over ``categories`` (e.g. all, the
    things or the stuff), leaving out those with TP + FP + FN = 0, as
    panopticapi's ``PQStat.pq_average``; ``n``: the categories averaged.
    The means are ``nan`` when ``n`` is 0 (panopticapi divides by zero)."""
    cats = np.fromiter(categories, np.int64)
    per_class = pq_per_class(stats)
    cats = cats[cats < len(stats)]
    seen = cats[~np.isnan(per_class[0][cats])]
    out = {k: float(np.mean(v[seen])) if seen.size else float('nan')
           for k, v in zip(('pq', 'sq', 'rq'), per_class)}
    out['n'] = int(seen.size)
    return out


# ------------------------------------------------------------------- AP^r
class ImageInstances(NamedTuple):
    """One image's predicted and ground-truth instances for AP^r: classes,
    scores, ignore flags and the (N, M) mask IoUs (the masks themselves are
    no longer needed)."""
    pred_labels: np.ndarray  # (N,) int64
    scores: np.ndarray  # (N,) float64
    gt_labels: np.ndarray  # (M,) int64
    gt_ignore: np.ndarray  # (M,) bool
    ious: np.ndarray  # (N, M) float64


def mask_ious(pred_masks: np.ndarray, gt_masks: np.ndarray,
              void: Optional[np.ndarray] = None) -> np.ndarray:
    """(N, M) IoUs of boolean masks ``(N, H, W)`` and ``(M, H, W)``; the
    pixels of ``void`` ``(H, W)`` count in neither (0 for an empty union).
    """
    pred = np.asarray(pred_masks, bool)
    gt = np.asarray(gt_masks, bool)
    if pred.ndim != 3 or gt.ndim != 3 or pred.shape[1:] != gt.shape[1:]:
        raise ValueError(f'masks {pred.shape} and {gt.shape} must be '
                         '(N, H, W) and (M, H, W)')
    pixels = int(np.prod(pred.shape[1:]))  # -1 fails for 0 masks
    pred = pred.reshape(len(pred), pixels)
    gt = gt.reshape(len(gt), pixels)
    if void is not None:
        keep = ~np.asarray(void, bool).ravel()
        pred, gt = pred[:, keep], gt[:, keep]
    # float32 sums are exact up to 2^24 pixels
    dtype = np.float32 if pred.shape[1] <= 1 << 24 else np.float64
    inter = pred.astype(dtype) @ gt.T.astype(dtype)
    union = pred.sum(1)[:, None] + gt.sum(1)[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.).astype(
        np.float64)


def image_instances(pred_masks: np.ndarray,
                    pred_labels: Sequence[int],
                    scores: Sequence[float],
                    gt_masks: np.ndarray,
                    gt_labels: Sequence[int],
                    gt_ignore: Optional[Sequence[bool]] = None,
                    void: Optional[np.ndarray] = None) -> ImageInstances:
    """:class:`ImageInstances` of one image (see :func:`mask_ious`)."""
    pred_labels = np.asarray(pred_labels, np.int64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    gt_labels = np.asarray(gt_labels, np.int64).reshape(-1)
    gt_ignore = np.zeros(len(gt_labels), bool) if gt_ignore is None else \
        np.asarray(gt_ignore, bool).reshape(-1)
    ious = mask_ious(pred_masks, gt_masks, void)
    if np.any(pred_labels < 0) or np.any(gt_labels < 0):
        raise ValueError('instance labels must be >= 0')
    if ious.shape != (len(pred_labels), len(gt_labels)) or \
            len(scores) != len(pred_labels) or \
            len(gt_ignore) != len(gt_labels):
        raise ValueError(f'{ious.shape} masks for {len(pred_labels)} '
                         f'labels, {len(scores)} scores, {len(gt_labels)} '
                         f'gt labels and {len(gt_ignore)} ignore flags')
    return ImageInstances(pred_labels, scores, gt_labels, gt_ignore, ious)


def instance_masks(sem: np.ndarray,
                   inst: np.ndarray,
                   thing_classes: Optional[Iterable[int]] = None,
                   ignore_index: int = 255) -> Tuple[np.ndarray,
                                                     np.ndarray]:
    """Masks ``(K, H, W)`` and classes ``(K,)`` of the segments of
    :func:`panoptic_segments`. ``thing_classes=None``: every class is a
    thing, so the instances are the instance ids > 0 (pixels of id 0 are
    in none); with thing classes, each stuff class present is one more
    instance (the paper's stuff AP^r on Cityscapes, Tab. 5)."""
    if thing_classes is None:
        thing_classes = np.unique(np.asarray(sem)).tolist()
    id_map, segments = panoptic_segments(sem, inst, thing_classes,
                                         ignore_index)
    return id_map[None] == segments.ids[:, None, None], segments.categories


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision / recall curve with VOC's all-point
    interpolation (VOC 2010+ ``VOCap``): the precision at recall r is the
    highest precision at any recall >= r, summed over the recall steps,
    the curve running from recall 0 (precision 0 added before) to 1."""
    mrec = np.r_[0., recall, 1.]
    mpre = np.r_[0., precision, 0.]
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def _outcomes(ious: np.ndarray, ignore: np.ndarray, t: float,
              one_to_one: bool) -> Tuple[np.ndarray, np.ndarray,
                                         np.ndarray]:
    """Per prediction (rows, by decreasing score) of one image and class:
    correct, dropped (it covers an ignored ground truth only) and the
    number of ground truths it is the first to cover."""
    hit = ious >= t
    n = len(ious)
    if one_to_one:
        correct = np.zeros(n, bool)
        free = ~ignore
        for k in range(n):
            cand = np.flatnonzero(free & hit[k])
            if cand.size:
                correct[k] = True
                free[cand[np.argmax(ious[k, cand])]] = False
        covers = correct.astype(np.int64)
    else:
        found = hit & ~ignore
        correct = found.any(1)
        first = np.argmax(found, 0)[found.any(0)] if n else []
        covers = np.bincount(first, minlength=n)
    dropped = ~correct & (hit & ignore).any(1)
    return correct, dropped, covers


class APr(NamedTuple):
    """AP^r of each class at each IoU threshold; ``nan`` for the classes
    without a (non-ignored) ground-truth instance."""
    thresholds: np.ndarray  # (T,)
    per_class: np.ndarray  # (T, C)

    @property
    def mean(self) -> np.ndarray:
        """(T,) AP^r: the mean over the classes with ground truth."""
        seen = ~np.isnan(self.per_class)
        total = np.where(seen, self.per_class, 0).sum(1)
        count = seen.sum(1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    @property
    def vol(self) -> float:
        """AP^r_vol: the mean AP^r over the thresholds."""
        return float(np.mean(self.mean))

    def at(self, threshold: float) -> float:
        """AP^r at ``threshold`` (one of :attr:`thresholds`)."""
        hit = np.flatnonzero(np.isclose(self.thresholds, threshold))
        if not hit.size:
            raise KeyError(f'no AP^r at {threshold}: thresholds are '
                           f'{self.thresholds.tolist()}')
        return float(self.mean[hit[0]])


def ap_r_from_instances(images: Sequence[ImageInstances],
                        thresholds: Sequence[float] = AP_VOL_THRESHOLDS,
                        one_to_one: bool = True) -> APr:
    """AP^r (Hariharan et al., "Simultaneous Detection and Segmentation",
    ECCV 2014; the paper's [37]) of instance predictions over a dataset.

    Per class, the predictions of all images are ranked by score (ties:
    image order, then prediction order) and each is judged at IoU
    threshold t:

    * ``one_to_one=True`` (VOC / SDS style): it matches the not yet matched
      ground-truth instance of its class and image with the highest IoU
      >= t (ties: the first), and is correct if there is one;
    * ``one_to_one=False`` (the authors' MATLAB convention): it is correct
      if its IoU with any ground-truth instance of its class and image is
      >= t; ground truths can be reused.

    A prediction that is not correct but has IoU >= t with an ignored
    (crowd / difficult) ground truth is dropped, like VOC's difficult
    objects; else it is a false positive. Precision counts the correct
    predictions; recall the ground truths covered (matched, or with IoU >=
    t with a correct prediction), over the non-ignored ground truths of the
    class. AP^r is the area under that curve with VOC's all-point
    interpolation (:func:`voc_ap`). Classes without ground truth get
    ``nan`` (left out of :attr:`APr.mean`), even with predictions.
    """
    thresholds = np.asarray(thresholds, np.float64).reshape(-1)
    labels = [im.pred_labels for im in images] + \
        [im.gt_labels for im in images]
    num_classes = 1 + int(max((lb.max(initial=-1) for lb in labels),
                              default=-1))
    per_class = np.full((len(thresholds), num_classes), np.nan)
    # per class, (scores, ious, ignore) of each image with it, by score
    by_class: Dict[int, List[tuple]] = {}
    for im in images:
        for c in np.union1d(im.pred_labels, im.gt_labels).tolist():
            gt = im.gt_labels == c
            rows = np.flatnonzero(im.pred_labels == c)
            rows = rows[np.argsort(-im.scores[rows], kind='stable')]
            by_class.setdefault(c, []).append(
                (im.scores[rows], im.ious[np.ix_(rows, gt)],
                 im.gt_ignore[gt]))
    for c, parts in by_class.items():
        npos = sum(int((~ign).sum()) for _, _, ign in parts)
        if npos == 0:
            continue
        scores = np.concatenate([s for s, _, _ in parts])
        order = np.argsort(-scores, kind='stable')
        for ti, t in enumerate(thresholds):
            judged = [_outcomes(ious, ign, t, one_to_one)
                      for _, ious, ign in parts]
            correct, dropped, covers = (
                np.concatenate([j[i] for j in judged])[order]
                for i in range(3))
            kept = ~dropped
            tp = np.cumsum(correct[kept])
            precision = tp / np.arange(1, len(tp) + 1)
            recall = np.cumsum(covers[kept]) / npos
            per_class[ti, c] = voc_ap(recall, precision)
    return APr(thresholds, per_class)


def ap_r(predictions: Sequence[Tuple[np.ndarray, Sequence[int],
                                     Sequence[float]]],
         gts: Sequence[Tuple],
         thresholds: Sequence[float] = AP_VOL_THRESHOLDS,
         one_to_one: bool = True) -> APr:
    """AP^r of per-image predictions ``(masks (N, H, W), labels, scores)``
    against ground truths ``(masks (M, H, W), labels)`` or ``(masks,
    labels, ignore)``; see :func:`ap_r_from_instances`. For instance maps,
    :func:`instance_masks` gives the masks and labels.

    ``ap_r(...).at(0.5)``, ``.at(0.7)`` and ``.vol`` are AP^r at 0.5, 0.7
    and AP^r_vol.
    """
    if len(predictions) != len(gts):
        raise ValueError(f'{len(predictions)} predictions for {len(gts)} '
                         'ground truths')
    return ap_r_from_instances(
        [image_instances(*pred, *gt) for pred, gt in zip(predictions, gts)],
        thresholds, one_to_one)


# ----------------------------------------------------- COCO panoptic output
def id2rgb(id_map: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of segment ids: id = R + 256 G + 256^2 B
    (panopticapi's ``id2rgb``)."""
    ids = np.asarray(id_map, np.int64)
    if ids.size and (ids.min() < 0 or ids.max() > MAX_SEGMENT_ID):
        raise ValueError(f'segment ids must lie in [0, {MAX_SEGMENT_ID}]')
    return np.stack([ids & 255, (ids >> 8) & 255, ids >> 16],
                    -1).astype(np.uint8)


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` int32 segment ids of an ``(H, W, 3)`` RGB panoptic PNG
    (panopticapi's ``rgb2id``)."""
    rgb = np.asarray(rgb).astype(np.int32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def segment_bboxes(id_map: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``(S, 4)`` COCO boxes ``[x, y, w, h]`` (inclusive pixel extents, as
    panopticapi's converters) of the segments ``ids`` (each present) of a
    segment id map."""
    id_map = _int_map(id_map, 'id_map').astype(np.int64)
    h, w = id_map.shape
    ids = np.asarray(ids, np.int64)
    out = []
    for size, coord in ((w, np.arange(w)[None]), (h, np.arange(h)[:, None])):
        # sorted (segment, coordinate) pairs: the first and last per segment
        seg, pos = np.divmod(
            np.unique((id_map * size + coord).ravel(),
                      return_counts=True)[0], size)
        segs, start = np.unique(seg, return_index=True)
        at = np.minimum(np.searchsorted(segs, ids), len(segs) - 1)
        if len(ids) and (not len(segs) or np.any(segs[at] != ids)):
            raise ValueError('segment ids missing from the id map')
        end = np.r_[start[1:], len(seg)] - 1
        out.append((pos[start][at], pos[end][at] - pos[start][at] + 1))
    (x, bw), (y, bh) = out
    return np.stack([x, y, bw, bh], 1)


def coco_segments_info(id_map: np.ndarray,
                       segments: Segments,
                       category_ids: Optional[Union[Sequence[int],
                                                    Mapping[int, int]]] = None
                       ) -> List[dict]:
    """COCO panoptic ``segments_info`` of a segment id map: one
    ``dict(id, category_id, area, bbox, iscrowd)`` per segment (each
    present in the map), ``bbox = [x, y, w, h]``. ``category_ids`` maps a
    category (class index) to its COCO category id (default: itself)."""
    boxes = segment_bboxes(id_map, segments.ids)
    return [dict(id=int(i), category_id=int(
        c if category_ids is None else category_ids[int(c)]), area=int(a),
                 bbox=[int(v) for v in box], iscrowd=int(crowd))
            for i, c, a, crowd, box in zip(segments.ids, segments.categories,
                                           segments.areas, segments.iscrowd,
                                           boxes)]


def to_coco_panoptic(sem: np.ndarray,
                     inst: np.ndarray,
                     thing_classes: Iterable[int],
                     category_ids: Optional[Union[Sequence[int],
                                                  Mapping[int, int]]] = None,
                     ignore_index: int = 255,
                     crowd_ids: Iterable[int] = ()
                     ) -> Tuple[np.ndarray, List[dict]]:
    """COCO panoptic PNG and ``segments_info`` of a (class map, instance
    map) pair: the segments of :func:`panoptic_segments` as an ``(H, W,
    3)`` uint8 RGB image (:func:`id2rgb`, VOID black) and
    :func:`coco_segments_info`."""
    id_map, segments = panoptic_segments(sem, inst, thing_classes,
                                         ignore_index, crowd_ids)
    return id2rgb(id_map), coco_segments_info(id_map, segments,
                                              category_ids)


def connected_component_instances(sem: np.ndarray,
                                  thing_classes: Sequence[int],
                                  connectivity: int = 8) -> np.ndarray:
    """The detector-free baseline of the instance CRF: every connected
    component (``connectivity`` 4 or 8) of every thing class of the
    semantic map ``sem`` is an instance. Returns ``(H, W)`` int32 ids
    1..K (thing pixels), 0 elsewhere."""
    from scipy import ndimage
    if connectivity not in (4, 8):
        raise ValueError(f'connectivity must be 4 or 8, got {connectivity}')
    structure = ndimage.generate_binary_structure(2, connectivity // 4)
    out = np.zeros(sem.shape, dtype=np.int32)
    for c in thing_classes:
        comp, n = ndimage.label(sem == c, structure=structure)
        out[comp > 0] = comp[comp > 0] + out.max()
    return out
