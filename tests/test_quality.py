"""mmseg_wsss.algorithms.quality: LabelQuality summed image by image (and
merged) equals seed_quality on the pooled pixels; supervision_quality."""
import math

import numpy as np
import pytest

from mmseg_wsss.algorithms.quality import (LabelQuality, seed_quality,
                                           supervision_quality)

IGN = 255
# two maps of different sizes; image 1 has class 3, which image 0 lacks
LABELS = [np.array([[0, 1, IGN], [0, 0, 1]], np.uint8),
          np.array([[3, 3], [0, IGN]], np.uint8)]
FULL = [np.array([[0, 1, 1], [1, 0, IGN]], np.uint8),
        np.array([[3, 0], [0, 0]], np.uint8)]


def test_label_quality_hand_computed():
    quality = LabelQuality()
    for labels, full in zip(LABELS, FULL):
        quality.add(labels, full)
    # image 0: 5 mask pixels, 4 labelled on them, 3 right;
    # image 1: 4 mask pixels, 3 labelled, 2 right
    scores = quality.scores()
    assert scores['precision'] == pytest.approx(5 / 7)
    assert scores['recall'] == pytest.approx(5 / 9)
    # per class on mask pixels: 0: mask 2 + 3, labelled 3 + 1, right 2 + 1
    # -> 3 / (5 + 4 - 3); 1: mask 3, labelled 1, right 1 -> 1 / 3;
    # 2: absent (left out); 3: mask 1, labelled 2, right 1 -> 1 / 2
    assert scores['IoU'] == pytest.approx((3 / 6 + 1 / 3 + 1 / 2) / 3)
    assert quality.labelled_fraction == pytest.approx(8 / 10)
    assert quality.fully_measured
    pooled = seed_quality(np.concatenate([m.ravel() for m in LABELS]),
                          np.concatenate([m.ravel() for m in FULL]))
    assert scores == pytest.approx(pooled)


def test_label_quality_merge_and_unmeasured_maps():
    first, second = LabelQuality(), LabelQuality()
    first.add(LABELS[0], FULL[0])
    second.add(LABELS[1], FULL[1])
    merged = first + second
    assert merged.scores() == pytest.approx(
        supervision_quality(zip(LABELS, FULL)))
    assert (merged.images, merged.pixels, merged.labelled) == (2, 10, 8)
    merged.add(np.full((1, 5), IGN, np.uint8))  # no mask: counted only
    assert merged.labelled_fraction == pytest.approx(8 / 15)
    assert merged.scores() == pytest.approx(
        supervision_quality(zip(LABELS, FULL)))
    assert not merged.fully_measured and not LabelQuality().fully_measured
    with pytest.raises(ValueError):
        merged.add(LABELS[0], FULL[1])


def test_supervision_quality_leaves_undefined_values_out():
    unlabelled = [(np.full((2, 2), IGN, np.uint8), FULL[1])]
    assert supervision_quality(unlabelled) == dict(recall=0.0, IoU=0.0)
    assert math.isnan(seed_quality(*unlabelled[0])['precision'])
