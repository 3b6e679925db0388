"""Quality of label maps (pseudo-masks, seeds, grown or model labels)
against full masks.

* :func:`confusion_counts` / :func:`miou_from_counts` / :func:`weak_miou`:
  the "weak mIoU" (wmIoU) of the Centroid Loss paper (eq. 8 between a
  pseudo-mask and the full mask, Section V-A);
* :func:`seed_quality`: precision / recall / IoU of DSRG's seed cues and
  grown supervision (Sec. 4.5, Fig. 4); :func:`supervision_quality` pools
  it over (labels, mask) pairs;
* :class:`LabelQuality`: the same figures summed over a dataset, image by
  image (mergeable across processes), plus the labelled fraction.

Maps hold class ids on labelled pixels and ``ignore_index`` (255) elsewhere;
an unlabelled pixel counts as a prediction of "no class". Plain numpy.
"""
import math
from typing import Dict, Iterable, Optional, Tuple

import numpy as np


def confusion_counts(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class intersection and union pixel counts (int64, ``(C,)``).

    Only pixels where ``gt`` is a class id in ``[0, num_classes)`` count. A
    ``pred`` value outside ``[0, num_classes)`` (e.g. the ``ignore_index`` of
    an unlabelled pseudo-mask pixel) is a prediction of "no class": it is
    wrong for the ground-truth class, adding to that class's union only.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'pred {pred.shape} and gt {gt.shape} differ')
    gt = gt.ravel().astype(np.int64)
    pred = pred.ravel().astype(np.int64)
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    gt, pred = gt[valid], pred[valid]
    pred_ok = (pred >= 0) & (pred < num_classes)
    inter = np.bincount(gt[pred == gt], minlength=num_classes)
    area_gt = np.bincount(gt, minlength=num_classes)
    area_pred = np.bincount(pred[pred_ok], minlength=num_classes)
    return inter, area_gt + area_pred - inter


def miou_from_counts(intersection: np.ndarray, union: np.ndarray) -> float:
    """Mean IoU (eq. 8) over the classes with a non-empty union, i.e. present
    in the ground truth or in the prediction; ``nan`` if there is none."""
    present = union > 0
    if not present.any():
        return float('nan')
    return float(np.mean(intersection[present] / union[present]))


def weak_miou(pseudo: np.ndarray, full: np.ndarray, num_classes: int,
              ignore_index: int = 255) -> float:
    """wmIoU of one pseudo-mask: eq. 8 between ``pseudo`` and the full mask.

    Evaluated on the pixels where ``full`` is not ``ignore_index``;
    unlabelled pseudo-mask pixels count as wrong (a prediction of "no
    class"), so the score reflects both the accuracy and the coverage of the
    pseudo-mask. The mean runs over the classes present in ``full`` or
    ``pseudo`` (on those pixels). For a dataset-level wmIoU, sum
    :func:`confusion_counts` over images and call :func:`miou_from_counts`.
    """
    return miou_from_counts(
        *confusion_counts(pseudo, full, num_classes, ignore_index))


def _ratio(num: int, den: int) -> float:
    return num / den if den else float('nan')


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` after zero-padding the shorter one at the end."""
    out = np.zeros(max(len(a), len(b)), dtype=np.int64)
    out[:len(a)] += a
    out[:len(b)] += b
    return out


class LabelQuality:
    """Pixel counts of label maps against full masks, summed image by image.

    :meth:`add` one map at a time (with its full mask when there is one);
    ``a + b`` merges the counts of two parts of a dataset (e.g. of two
    processes). The figures are those of :func:`seed_quality` on all the
    measured pixels at once; :attr:`labelled_fraction` runs over every
    pixel added, measured or not.

    Args:
        ignore_index (int): Unlabelled value of maps and masks.
    """

    def __init__(self, ignore_index: int = 255) -> None:
        self.ignore_index = ignore_index
        self.images = self.measured_images = 0
        self.pixels = self.labelled = 0
        self.valid = self.seeded = self.correct = 0
        self.intersection = np.zeros(0, dtype=np.int64)
        self.union = np.zeros(0, dtype=np.int64)

    def add(self, labels: np.ndarray,
            full_mask: Optional[np.ndarray] = None) -> None:
        """Count one label map (any shape), against ``full_mask`` (same
        shape) when given."""
        self.images += 1
        self.pixels += labels.size
        self.labelled += np.count_nonzero(labels != self.ignore_index)
        if full_mask is None:
            return
        if labels.shape != full_mask.shape:
            raise ValueError(f'labels {labels.shape} and mask '
                             f'{full_mask.shape} differ')
        valid = full_mask != self.ignore_index
        seeded = valid & (labels != self.ignore_index)
        self.measured_images += 1
        self.valid += np.count_nonzero(valid)
        self.seeded += np.count_nonzero(seeded)
        self.correct += np.count_nonzero(seeded & (labels == full_mask))
        # initial=0, not -1: uint8 maps (PNGs, cam_seeds) cannot hold -1
        num_classes = 1 + int(max(full_mask[valid].max(initial=0),
                                  labels[seeded].max(initial=0)))
        inter, union = confusion_counts(labels, full_mask, num_classes,
                                        self.ignore_index)
        self.intersection = _add_padded(self.intersection, inter)
        self.union = _add_padded(self.union, union)

    def __add__(self, other: 'LabelQuality') -> 'LabelQuality':
        out = LabelQuality(self.ignore_index)
        for key in ('images', 'measured_images', 'pixels', 'labelled',
                    'valid', 'seeded', 'correct'):
            setattr(out, key, getattr(self, key) + getattr(other, key))
        out.intersection = _add_padded(self.intersection, other.intersection)
        out.union = _add_padded(self.union, other.union)
        return out

    @property
    def labelled_fraction(self) -> float:
        """Labelled pixels / pixels (``nan`` before any)."""
        return _ratio(self.labelled, self.pixels)

    @property
    def fully_measured(self) -> bool:
        """Whether every map added (at least one) had its full mask."""
        return 0 < self.measured_images == self.images

    def scores(self) -> Dict[str, float]:
        """``precision``, ``recall`` and ``IoU`` as :func:`seed_quality`
        defines them, on the measured pixels."""
        return dict(precision=_ratio(self.correct, self.seeded),
                    recall=_ratio(self.correct, self.valid),
                    IoU=miou_from_counts(self.intersection, self.union))


def seed_quality(seeds: np.ndarray, full_mask: np.ndarray,
                 ignore_index: int = 255) -> Dict[str, float]:
    """Quality of seed cues / grown supervision against the full mask
    (DSRG Sec. 4.5, Fig. 4), on the pixels where ``full_mask`` is labelled.

    * ``precision``: correctly labelled seed pixels / seed pixels;
    * ``recall``: correctly labelled seed pixels / labelled mask pixels;
    * ``IoU``: mean over the classes present in the mask or the seeds of
      the per-class IoU, an unlabelled pixel counting as a prediction of "no
      class" (wrong for its true class), as :func:`weak_miou`.

    Values in ``[0, 1]``, ``nan`` when undefined (no seed / no labelled
    pixel). Every quantity is pixel-wise, so stacked maps ``(N, H, W)`` give
    dataset-level figures.
    """
    quality = LabelQuality(ignore_index)
    quality.add(seeds, full_mask)  # ValueError on different shapes
    return quality.scores()


def supervision_quality(pairs: Iterable[Tuple[np.ndarray, np.ndarray]],
                        ignore_index: int = 255) -> Dict[str, float]:
    """:func:`seed_quality` of (labels, full mask) pairs of any sizes,
    pooled pixel-wise; undefined (``nan``) values are left out."""
    quality = LabelQuality(ignore_index)
    for labels, full_mask in pairs:
        quality.add(labels, full_mask)
    return {k: v for k, v in quality.scores().items() if math.isfinite(v)}
