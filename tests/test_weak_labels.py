"""Tests of the simulated weak labels (mmseg_wsss.algorithms.weak_labels)."""
import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import disk

from mmseg_wsss.algorithms.weak_labels import (class_proportions, image_tags,
                                               simulate_points,
                                               simulate_scribbles)

IGNORE = 255


def _agrees(weak: np.ndarray, mask: np.ndarray) -> bool:
    """Every labelled pixel carries the class of the full mask."""
    labelled = weak != IGNORE
    return bool(np.array_equal(weak[labelled], mask[labelled]))


@pytest.fixture
def blob_mask() -> np.ndarray:
    """Background, a large ellipse (1) and a rectangle (2)."""
    mask = np.zeros((96, 96), np.uint8)
    yy, xx = np.mgrid[:96, :96]
    mask[((yy - 40) / 28.) ** 2 + ((xx - 35) / 22.) ** 2 < 1] = 1
    mask[70:90, 60:92] = 2
    return mask


def test_proportions_and_tags_by_hand():
    mask = np.array([[0, 0, 1, 1, IGNORE],
                     [0, 0, 1, 2, IGNORE],
                     [0, 0, 0, 2, IGNORE],
                     [3, 0, 0, 0, IGNORE]], np.uint8)
    props = class_proportions(mask, 4)
    assert props.dtype == np.float64
    np.testing.assert_allclose(props, [10 / 16, 3 / 16, 2 / 16, 1 / 16])
    assert image_tags(mask, 4).tolist() == [0, 1, 2, 3]
    assert image_tags(mask, 4, min_fraction=0.1).tolist() == [0, 1, 2]
    assert image_tags(mask, 5).tolist() == [0, 1, 2, 3]  # absent class 4


def test_all_ignore_mask():
    mask = np.full((3, 3), IGNORE, np.uint8)
    np.testing.assert_array_equal(class_proportions(mask, 3), np.zeros(3))
    assert image_tags(mask, 3).size == 0


@pytest.mark.parametrize('width', [2, 5, 10, 20])
def test_scribbles_agree_and_cover_each_class(blob_mask, width):
    scribbles = simulate_scribbles(blob_mask, width, 3)
    assert scribbles.dtype == np.uint8 and scribbles.shape == blob_mask.shape
    assert _agrees(scribbles, blob_mask)
    assert set(np.unique(scribbles).tolist()) == {0, 1, 2, IGNORE}
    # scribbles are a small part of the image
    assert (scribbles != IGNORE).mean() < 0.5


def test_wider_scribbles_label_more(blob_mask):
    counts = [(simulate_scribbles(blob_mask, w, 3) != IGNORE).sum()
              for w in (2, 5, 10)]
    assert counts[0] < counts[1] < counts[2]


def test_straight_bar_scribble_is_centred_window():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 10:90] = 1
    cols = np.flatnonzero((simulate_scribbles(mask, 2, 2) == 1).any(axis=0))
    # The skeleton of the eroded bar is ~70 px long: 60% of it, centred.
    assert 30 <= cols.max() - cols.min() + 1 <= 50
    assert abs((cols.min() + cols.max()) / 2 - 49.5) <= 3


@pytest.mark.parametrize('width', [2, 5, 10, 20])
def test_thin_membrane_still_scribbled(width):
    mask = np.zeros((96, 96), np.uint8)
    t = np.linspace(0, 1, 400)
    rows = (48 + 30 * np.sin(2 * np.pi * t)).astype(int)
    cols = (5 + 85 * t).astype(int)
    mask[rows, cols] = 1
    mask[rows + 1, cols] = 1  # 2 px thick curve: erosion empties it
    scribbles = simulate_scribbles(mask, width, 2)
    assert _agrees(scribbles, mask)
    assert (scribbles == 1).sum() >= 20


def test_poorly_recovered_erosion_falls_back_to_raw_skeleton():
    # An 8-px wide bar ending in a disk: with width 10 the erosion keeps
    # only the disk, which recovers < 50% of the region, so the scribble
    # must run along the bar instead of sitting in the disk (cols 75-95).
    mask = np.zeros((100, 100), np.uint8)
    mask[46:54, 5:95] = 1
    yy, xx = np.mgrid[:100, :100]
    mask[(yy - 50) ** 2 + (xx - 85) ** 2 <= 100] = 1
    cols = np.flatnonzero((simulate_scribbles(mask, 10, 2) == 1).any(axis=0))
    assert cols.min() < 40


def test_small_components_get_no_scribble():
    mask = np.zeros((64, 64), np.uint8)
    mask[5:12, 5:12] = 1  # 49 px
    mask[30:38, 30:38] = 2  # 64 px, kept
    scribbles = simulate_scribbles(mask, 2, 3)
    assert not (scribbles[:20, :20] == 1).any()
    assert (scribbles == 2).any()
    assert not (simulate_scribbles(mask, 2, 3, min_area=65) == 2).any()


def test_scribbles_deterministic(blob_mask):
    np.testing.assert_array_equal(simulate_scribbles(blob_mask, 5, 3),
                                  simulate_scribbles(blob_mask, 5, 3))


def _disc_centres(points: np.ndarray, cls: int) -> np.ndarray:
    """Centres of the radius-2 discs making up ``points == cls``; asserts the
    labelled set is exactly a union of such discs."""
    footprint = disk(2).astype(bool)
    labelled = points == cls
    centres = ndimage.binary_erosion(labelled, footprint)
    np.testing.assert_array_equal(
        ndimage.binary_dilation(centres, footprint), labelled)
    return np.argwhere(centres)


def test_points_are_few_discs_deep_inside_classes():
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 1
    mask[0, 40] = 2  # 1/4096 of the image: below min_fraction, untagged
    points = simulate_points(mask, 3, rng=np.random.default_rng(0))
    assert points.dtype == np.uint8
    assert _agrees(points, mask)
    assert not (points == 2).any()
    for cls in (0, 1):
        centres = _disc_centres(points, cls)
        assert 1 <= len(centres) <= 3
        # The image border counts as boundary: centres are >= 8 px (half the
        # 16 px maximum distance) away from it and from the class edge.
        assert centres[:, 0].min() >= 6 and centres[:, 0].max() <= 57
        col = centres[:, 1] - 32 * cls
        assert col.min() >= 6 and col.max() <= 25


def test_points_deterministic_per_seed(blob_mask):
    def run(seed):
        return simulate_points(blob_mask, 3, rng=np.random.default_rng(seed))

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))
    assert _agrees(run(3), blob_mask)
    assert sorted(np.unique(run(3)).tolist()) == [0, 1, 2, IGNORE]
