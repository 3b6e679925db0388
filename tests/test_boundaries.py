"""BES (Chen et al., ECCV 2020): reliable labels (eq. 1, Sec. 3.1), boundary
label synthesis (eq. 2-3, both the authors' rule and the printed one)
against a per-pixel brute force with exact rational arithmetic, hand-drawn
maps, a float32 tie, and the boundary precision / recall / F metric."""
import math
from fractions import Fraction
from typing import List

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms import (REGION_BG, REGION_BOUNDARY, REGION_FG,
                                   UNCERTAIN, BoundaryCounts,
                                   boundary_counts, boundary_prf,
                                   gt_boundaries, prf_from_counts,
                                   refine_localization_crf,
                                   synthesize_boundary_labels,
                                   synthesize_boundary_regions,
                                   threshold_localization)

IGN = 255
U, B, BG, FG = UNCERTAIN, REGION_BOUNDARY, REGION_BG, REGION_FG


# ------------------------------------------------------ brute force
def reference_regions(labels: np.ndarray, window: int = 13,
                      theta_scale: float = 0.35, theta_diff: float = 0.10,
                      rule: str = 'authors', bg_index: int = 0,
                      ignore_index: int = IGN) -> np.ndarray:
    """Eq. (2)-(3) pixel by pixel in pure Python: the window clipped to the
    image, the proportions over its in-image pixels, exact fractions, and
    the thresholds as the decimals they are written as."""
    h, w = labels.shape
    r = window // 2
    ts, td = Fraction(str(theta_scale)), Fraction(str(theta_diff))
    rows = labels.tolist()
    out = np.full((h, w), UNCERTAIN, dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            counts = {}
            n = 0
            for y in range(max(0, i - r), min(h, i + r + 1)):
                for x in range(max(0, j - r), min(w, j + r + 1)):
                    n += 1
                    counts[rows[y][x]] = counts.get(rows[y][x], 0) + 1
            s0 = Fraction(counts.get(bg_index, 0), n)
            fg = sorted((v for k, v in counts.items()
                         if k not in (bg_index, ignore_index)),
                        reverse=True) + [0, 0]
            s1, s2 = Fraction(fg[0], n), Fraction(fg[1], n)
            label = UNCERTAIN
            if rule == 'authors':  # their order: later assignments win
                if s0 > 2 * ts and s0 - s1 >= 2 * td:
                    label = BG
                if s1 > 2 * ts and s1 - s0 >= 2 * td:
                    label = FG
                if min(s1, s0) > ts and abs(s1 - s0) < td:
                    label = B
                if s2 > ts and s1 - s2 < td:
                    label = B
            else:
                if min(s1, s0) > 2 * ts and abs(s1 - s0) >= 2 * td:
                    label = FG if s1 > s0 else BG
                elif min(s1, s0) > ts and abs(s1 - s0) < td:
                    label = B
            out[i, j] = label
    return out


def _random_labels(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Blocky regions of background / 3 classes / ignore, plus speckle."""
    cell = int(rng.integers(1, 7))
    coarse = rng.choice([0, 0, 1, 2, 3, IGN],
                        size=(h // cell + 1, w // cell + 1))
    labels = np.kron(coarse, np.ones((cell, cell), dtype=np.int64))[:h, :w]
    speckle = rng.random((h, w)) < 0.1
    labels[speckle] = rng.choice([0, 1, 2, IGN], size=int(speckle.sum()))
    return labels.astype(np.uint8)


SIZES = [(1, 1), (2, 9), (7, 3), (12, 12), (20, 20), (17, 31), (30, 9)]
# window, theta_scale, theta_diff: the paper's, the authors' run_sample,
# tie-prone small windows, and small theta_scale (where the printed
# non-boundary case can hold and fg-fg boundaries override foreground)
PARAMS = [(13, 0.35, 0.10), (13, 0.30, 0.10), (5, 0.35, 0.10),
          (5, 0.30, 0.20), (3, 0.2, 0.1), (7, 0.1, 0.15), (1, 0.35, 0.1)]


@pytest.mark.parametrize('rule', ['authors', 'paper'])
@pytest.mark.parametrize('window,theta_scale,theta_diff', PARAMS)
def test_regions_equal_brute_force(rule, window, theta_scale, theta_diff):
    seen = set()
    for seed, (h, w) in enumerate(SIZES):
        labels = _random_labels(np.random.default_rng(seed), h, w)
        args = (window, theta_scale, theta_diff, rule)
        got = synthesize_boundary_regions(labels, *args)
        assert got.dtype == np.uint8 and got.shape == labels.shape
        np.testing.assert_array_equal(got, reference_regions(labels, *args),
                                      err_msg=f'seed {seed} {h}x{w}')
        seen.update(np.unique(got).tolist())
    if window > 1:  # the cases are not vacuous
        assert B in seen and U in seen


def test_paper_non_boundary_case_holds_only_for_small_theta_scale():
    """``min(S1, S0) <= 0.5``: eq. 3's non-boundary case needs
    ``theta_scale < 0.25``."""
    labels = np.zeros((20, 20), np.uint8)
    labels[:, 10:] = 1
    out = synthesize_boundary_regions(labels, 13, rule='paper')
    assert not np.isin(out, [BG, FG]).any()
    # theta_scale 0.15: both sides > 0.3 and apart by >= 0.2 (cols 7 / 12:
    # 4/13 vs 9/13)
    out = synthesize_boundary_regions(labels, 13, 0.15, 0.10, rule='paper')
    np.testing.assert_array_equal(out[0, [7, 12]], [BG, FG])


def test_labels_are_regions_with_non_boundary_merged():
    labels = _random_labels(np.random.default_rng(7), 25, 33)
    for rule in ('authors', 'paper'):
        regions = synthesize_boundary_regions(labels, 5, 0.1, 0.15, rule)
        lab = synthesize_boundary_labels(labels, 5, 0.1, 0.15, rule)
        expected = np.select([regions == B, np.isin(regions, [BG, FG])],
                             [1, 0], U)
        np.testing.assert_array_equal(lab, expected)
        assert lab.dtype == np.uint8 and set(np.unique(lab)) <= {0, 1, U}


# -------------------------------------------------------- hand-drawn
def _two_regions(right: int) -> np.ndarray:
    """20x20: columns 0-9 class 1, columns 10-19 ``right``."""
    labels = np.full((20, 20), right, dtype=np.uint8)
    labels[:, :10] = 1
    return labels


def _columns(out: np.ndarray) -> List[int]:
    # every row of a vertical edge has the same window proportions (the
    # clipped rows all have the same column pattern)
    assert (out == out[:1]).all()
    return out[0].tolist()


def test_hand_two_regions_window_5():
    """Window 5 over columns j-2..j+2: column 8 sees 4 fg / 1 bg (0.8 /
    0.2), column 9 3 / 2 (0.6 / 0.4), 10 2 / 3, 11 1 / 4. Foreground needs
    S1 > 0.7 and S1 - S0 >= 0.2; a boundary |S1 - S0| < theta_diff, which
    an odd window never gives a straight edge with theta_diff 0.1 (the
    closest split is 0.6 / 0.4)."""
    labels = _two_regions(0)
    out = synthesize_boundary_regions(labels, 5)
    assert _columns(out) == [FG] * 9 + [U, U] + [BG] * 9
    assert _columns(synthesize_boundary_labels(labels, 5)) == \
        [0] * 9 + [U, U] + [0] * 9
    # theta_diff 0.25: columns 9 and 10 (|0.6 - 0.4| < 0.25, min 0.4 > 0.35)
    # are boundary; columns 8 / 11 (0.8 - 0.2 >= 0.5) stay non-boundary
    out = synthesize_boundary_regions(labels, 5, theta_diff=0.25)
    assert _columns(out) == [FG] * 9 + [B, B] + [BG] * 9
    # the printed rule: the same boundary, no non-boundary pixel
    out = synthesize_boundary_regions(labels, 5, theta_diff=0.25,
                                      rule='paper')
    assert _columns(out) == [U] * 9 + [B, B] + [U] * 9


def test_hand_two_regions_window_13():
    """Window 13 (paper defaults). Columns 9 / 10: 7 vs 6 of 13 columns
    (|diff| = 1/13 < 0.1, min 6/13 > 0.35): boundary. Columns 7, 8, 11, 12:
    the majority has 9/13 or 8/13 < 0.7: uncertain. Column 6 (10/13 vs
    3/13) and 13: non-boundary. Borders: column 0 sees columns 0-6 only,
    all foreground."""
    expected = [FG] * 7 + [U, U, B, B, U, U] + [BG] * 7
    assert _columns(synthesize_boundary_regions(_two_regions(0))) == expected
    paper = [U] * 9 + [B, B] + [U] * 9
    assert _columns(synthesize_boundary_regions(_two_regions(0),
                                                rule='paper')) == paper
    # two foreground classes: the authors' fg-fg boundary (S2 = 6/13 > 0.35,
    # S1 - S2 = 1/13 < 0.1); eq. 3 compares with background only: nothing
    ff = synthesize_boundary_regions(_two_regions(2))
    assert _columns(ff) == [FG] * 7 + [U, U, B, B, U, U] + [FG] * 7
    assert (synthesize_boundary_regions(_two_regions(2), rule='paper')
            == U).all()


def test_borders_count_pixels_inside_the_image_only():
    """A uniform map is non-boundary up to the corners: a corner's 7x7
    in-image pixels are all foreground (S1 = 1). Zero padding (S = N / w^2,
    eq. 2 taken literally) would give 49/169 < 0.7 there."""
    labels = np.full((20, 20), 3, dtype=np.uint8)
    assert (synthesize_boundary_regions(labels) == FG).all()
    assert (synthesize_boundary_regions(np.zeros((20, 20), np.uint8))
            == BG).all()
    # ignore pixels count in n but in no class: a window 60% ignore is
    # uncertain (S1 = 0.4)
    labels = np.full((5, 5), IGN, dtype=np.uint8)
    labels[:2] = 1
    assert synthesize_boundary_regions(labels, 5)[2, 2] == U


def _authors_float32_fg_bg_boundary(labels: np.ndarray, window: int,
                                    theta_scale: float,
                                    theta_diff: float) -> np.ndarray:
    """The fg-bg boundary test evaluated on float32 average pooling
    (``count_include_pad=False``), as the authors' implementation does."""
    t = torch.from_numpy(labels.astype(np.int64))

    def prop(mask):
        return F.avg_pool2d(mask.float()[None], window, stride=1,
                            padding=window // 2,
                            count_include_pad=False)[0]

    s0 = prop(t == 0)
    s1 = torch.stack([prop(t == c) for c in (1, 2, 3)]).amax(0)
    return ((torch.minimum(s1, s0) > theta_scale)
            & ((s1 - s0).abs() < theta_diff)).numpy()


def test_tie_float32_pooling_flips_integer_counts_do_not():
    """Pixel (0, 3) of a 20x20 map, window 13: its window holds the 7 x 10
    in-image pixels rows 0-6, columns 0-9 (n = 70), 35 background, 28 of
    class 1, 7 ignore: S0 = 0.5, S1 = 0.4, |S1 - S0| = 0.1 = theta_diff
    exactly, so the strict < of the boundary case fails: uncertain. In
    float32, 0.5 - fl(0.4) = 0.099999994 < fl(0.1): "boundary"."""
    labels = np.full((20, 20), IGN, dtype=np.uint8)
    block = np.full(70, IGN, dtype=np.uint8)
    block[:35], block[35:63] = 0, 1
    labels[:7, :10] = block.reshape(7, 10)
    ours = synthesize_boundary_regions(labels)
    assert ours[0, 3] == U
    np.testing.assert_array_equal(ours, reference_regions(labels))
    assert _authors_float32_fg_bg_boundary(labels, 13, 0.35, 0.10)[0, 3]


def test_bad_arguments():
    labels = np.zeros((4, 4), np.uint8)
    for kwargs in (dict(window=4), dict(window=0), dict(theta_diff=0),
                   dict(theta_scale=-0.1), dict(rule='printed')):
        with pytest.raises(ValueError):
            synthesize_boundary_regions(labels, **kwargs)
    with pytest.raises(ValueError):
        synthesize_boundary_regions(labels[None])
    with pytest.raises(ValueError):
        synthesize_boundary_regions(labels.astype(np.float32))


# ------------------------------------------------------------ eq. (1)
def test_threshold_localization_by_hand():
    probs = np.zeros((4, 2, 4), dtype=np.float64)
    probs[0] = 0.9  # background channel: never read
    # pixel:      (0,0) (0,1) (0,2)  (0,3)  (1,0)  (1,1) (1,2) (1,3)
    probs[1] = [[0.90, 0.31, 0.30, 0.070], [0.069, 0.50, 0.1, 0.2]]
    probs[2] = [[0.10, 0.00, 0.00, 0.000], [0.000, 0.50, 0.8, 0.0]]
    probs[3] = [[0.95, 0.00, 0.00, 0.000], [0.000, 0.00, 0.0, 0.0]]
    # > 0.30: arg-max; < 0.07: background; 0.30 and 0.07 are uncertain;
    # the 0.5 / 0.5 tie goes to the lower id
    expected = np.array([[3, 1, IGN, IGN], [0, 1, 2, IGN]])
    out = threshold_localization(probs)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    # only the tagged classes compete (class 3 untagged: (0,0) -> class 1)
    out = threshold_localization(probs, tags=[0, 1, 2])
    np.testing.assert_array_equal(out, [[1, 1, IGN, IGN], [0, 1, 2, IGN]])
    # the background channel's content does not matter
    probs[0] = np.random.default_rng(0).random((2, 4))
    np.testing.assert_array_equal(threshold_localization(probs), expected)
    # no foreground class: all background
    np.testing.assert_array_equal(threshold_localization(probs, tags=[0]), 0)
    out = threshold_localization(probs, theta_fg=0.5, theta_bg=0.2)
    np.testing.assert_array_equal(out, [[3, IGN, IGN, 0], [0, IGN, 2, IGN]])
    with pytest.raises(ValueError):
        threshold_localization(probs, tags=[7])
    with pytest.raises(ValueError):
        threshold_localization(probs, theta_fg=0.05)


def test_crf_refinement_fills_uncertain_bands_along_the_image():
    """Two flat-coloured halves; the class-3 map is sure on the right half
    except a band of 0.2 (uncertain), and near zero on the left except a
    band of 0.15 (uncertain). Eq. (1) leaves both bands 255; the two CRF
    passes of the authors' refinement give each band its half's label."""
    h, w = 24, 32
    gt = np.zeros((h, w), np.uint8)
    gt[:, 16:] = 3
    rng = np.random.default_rng(0)
    img = (np.where(gt[..., None] == 3, 200, 40)
           + rng.integers(0, 3, (h, w, 3))).astype(np.uint8)
    probs = np.zeros((5, h, w), np.float32)
    probs[3] = np.where(gt == 3, 0.9, 0.01)
    probs[3][:, 22:26] = 0.2
    probs[3][:, 4:8] = 0.15
    probs[1] = 0.05  # an untagged class is ignored
    plain = threshold_localization(probs, tags=[0, 3])
    assert (plain[:, 22:26] == IGN).all() and (plain[:, 4:8] == IGN).all()
    refined = refine_localization_crf(img, probs, tags=[0, 3])
    assert refined.dtype == np.uint8
    np.testing.assert_array_equal(refined, gt)
    np.testing.assert_array_equal(
        refine_localization_crf(img, probs, tags=[0]), 0)


# ------------------------------------------------- boundary P / R / F
def test_gt_boundaries_by_hand():
    labels = np.array([[1, 1, 0],
                       [1, IGN, 0],
                       [2, 2, 2]])
    expected = np.array([[0, 1, 1],
                         [1, 0, 1],
                         [1, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(gt_boundaries(labels), expected)
    assert not gt_boundaries(np.full((3, 3), 4)).any()


def _step_map() -> np.ndarray:
    """8x8, columns 0-3 class 1, 4-7 background: GT edges are columns 3
    and 4 (16 pixels)."""
    gt = np.zeros((8, 8), np.uint8)
    gt[:, :4] = 1
    return gt


def _column_pred(col: int, value: float = 0.9) -> np.ndarray:
    pred = np.full((8, 8), 0.1)
    pred[:, col] = value
    return pred


def test_boundary_prf_shifted_edge_by_hand():
    gt = _step_map()
    # predicted column 6: 2 px from GT column 4, 3 px from column 3
    res = boundary_prf(_column_pred(6), gt, tolerance=2)
    assert res.counts == BoundaryCounts(8, 8, 8, 16)
    assert (res.precision, res.recall) == (1.0, 0.5)
    assert res.f == pytest.approx(2 / 3)
    assert boundary_prf(_column_pred(6), gt, tolerance=1)[:3] == (0, 0, 0)
    # column 5: within 1 px of column 4, 2 px of column 3
    assert boundary_prf(_column_pred(5), gt, tolerance=2)[:3] == (1, 1, 1)
    assert boundary_prf(_column_pred(5), gt, tolerance=1).counts == \
        BoundaryCounts(8, 8, 8, 16)
    # threshold: probability must exceed it
    assert boundary_counts(_column_pred(5, 0.5), gt).pred_total == 0
    assert boundary_counts(_column_pred(5, 0.5), gt,
                           threshold=0.4).pred_total == 8


def test_boundary_prf_diagonal_tolerance_and_ignore():
    gt = _step_map()
    pred = np.zeros((8, 8))
    pred[2, 6] = 1  # (2, 6) -> (2, 4): distance 2
    pred[0, 7] = 1  # nearest edge (0, 4): distance 3
    c = boundary_counts(pred, gt, tolerance=2)
    assert (c.pred_matched, c.pred_total) == (1, 2)
    # GT (1..3, 4) lie within sqrt(1 + 4) > 2 of (2, 6)? only (2, 4) does
    assert c.gt_matched == 1
    assert boundary_counts(pred, gt, tolerance=math.sqrt(5)).gt_matched == 3
    # ignore row 0: its edges and its prediction drop out
    gt[0] = IGN
    c = boundary_counts(pred, gt, tolerance=2)
    assert c == BoundaryCounts(1, 1, 1, 14)


def test_boundary_counts_equal_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(5):
        h, w = (int(v) for v in rng.integers(3, 12, 2))
        gt = rng.choice([0, 1, 2, IGN], size=(h, w), p=[.5, .3, .1, .1])
        pred = rng.random((h, w))
        tol = float(rng.choice([0, 1, 1.5, 2, 3]))
        edges = [(i, j) for i in range(h) for j in range(w)
                 if gt[i, j] != IGN and any(
                     0 <= i + di < h and 0 <= j + dj < w
                     and gt[i + di, j + dj] not in (IGN, gt[i, j])
                     for di, dj in ((0, 1), (1, 0), (0, -1), (-1, 0)))]
        preds = [(i, j) for i in range(h) for j in range(w)
                 if pred[i, j] > 0.5 and gt[i, j] != IGN]

        def near(p, targets):
            return any((p[0] - q[0])**2 + (p[1] - q[1])**2 <= tol**2
                       for q in targets)

        expected = BoundaryCounts(sum(near(p, edges) for p in preds),
                                  len(preds),
                                  sum(near(q, preds) for q in edges),
                                  len(edges))
        assert boundary_counts(pred, gt, tolerance=tol) == expected


def test_pooled_counts_and_undefined_ratios():
    a, b = BoundaryCounts(8, 8, 8, 16), BoundaryCounts(0, 3, 0, 0)
    assert sum([a, b], BoundaryCounts()) == BoundaryCounts(8, 11, 8, 16)
    p, r, f = prf_from_counts(a + b)
    assert (p, r) == (8 / 11, 0.5) and f == pytest.approx(16 / 27)
    assert prf_from_counts(BoundaryCounts()) == (0, 0, 0)
    assert prf_from_counts(BoundaryCounts(0, 0, 0, 5)) == (0, 0, 0)


# ------------------------------------------------------------- metric
def _sample(prob: np.ndarray, gt: np.ndarray) -> dict:
    return SegDataSample(
        seg_logits=PixelData(data=torch.from_numpy(prob).float()[None]),
        gt_sem_seg=PixelData(data=torch.from_numpy(
            gt.astype(np.int64))[None])).to_dict()


def test_metric_pools_two_samples():
    """Sample 1: the shifted column (8, 8, 8, 16); sample 2: no GT edge and
    3 predicted pixels (0, 3, 0, 0). Pooled: P = 8/11, R = 8/16, F =
    16/27; a per-image mean would differ (P (1 + 0) / 2)."""
    flat = np.full((6, 6), 0.2)
    flat[1, 1:4] = 0.8
    samples = [_sample(_column_pred(6), _step_map()),
               _sample(flat, np.zeros((6, 6), np.uint8))]
    metric = METRICS.build(dict(type='BoundaryMetric'))
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    m = metric.compute_metrics(metric.results)
    assert m == dict(BoundaryPrecision=round(800 / 11, 2),
                     BoundaryRecall=50.0,
                     BoundaryF=round(1600 / 27, 2))
    # logits: the same maps through a sigmoid
    logit = METRICS.build(dict(type='BoundaryMetric', from_logits=True))
    logit.process({}, [
        _sample(np.log(p / (1 - p)), gt) for p, gt in
        ((_column_pred(6), _step_map()),
         (flat, np.zeros((6, 6), np.uint8)))])
    assert logit.compute_metrics(logit.results) == m


def test_metric_rejects_multichannel_or_mismatched_maps():
    metric = METRICS.build(dict(type='BoundaryMetric'))
    two = SegDataSample(seg_logits=PixelData(data=torch.zeros(2, 4, 4)),
                        gt_sem_seg=PixelData(data=torch.zeros(1, 4, 4)))
    with pytest.raises(ValueError, match='one-channel'):
        metric.process({}, [two.to_dict()])
    with pytest.raises(ValueError, match='differ'):
        metric.process({}, [_sample(np.zeros((4, 4)),
                                    np.zeros((5, 4), np.uint8))])
