"""DSRG (Huang et al., CVPR 2018): seeded region growing (Sec. 3.3, eq. 3)
against a plain-Python transcription of the paper's visiting process, CAM
seed cues (Sec. 3.1, 4.1), seed quality (Sec. 4.5) and the balanced seeding
loss (eq. 1), on hand-computed cases."""
import math
from typing import Optional, Sequence

import numpy as np
import pytest
import torch

from mmseg_wsss.algorithms import (cam_seeds, grow_seeds, grow_seeds_batch,
                                   seed_quality)
from mmseg_wsss.models.losses.functional import balanced_seed_loss, seed_loss

IGN = 255
# Q's 8-neighbourhood, visited in raster order
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0),
              (1, 1))


def reference_grow(probs: np.ndarray, seeds: np.ndarray, tags: Sequence[int],
                   theta_fg: float = 0.85, theta_bg: float = 0.99,
                   bg_index: Optional[int] = 0,
                   ignore_index: int = IGN) -> np.ndarray:
    """DSRG's visiting processes ``V_c`` (Sec. 3.3) as written, pure Python.

    For each tagged class ``c`` in turn, the positions of ``S_c`` are
    visited in row-first order; each unlabelled 8-neighbour ``u`` of a
    visited pixel with ``P(H_{u,c}, theta_c)`` (eq. 3: ``c`` is the first
    maximum over the tagged classes and ``H_{u,c} >= theta_c``) is labelled
    ``c``. After a pass the newly labelled pixels join ``S_c`` and are
    visited, row-first, in the next pass; ``V_c`` stops when a pass labels
    nothing. The older positions of ``S_c`` are not visited again: their
    neighbours were already examined and can only have become labelled.
    """
    p = probs.tolist()
    label = seeds.tolist()
    h, w = seeds.shape
    tagged = sorted({int(t) for t in tags})

    def meets(c: int, i: int, j: int) -> bool:
        best = tagged[0]
        for t in tagged[1:]:
            if p[t][i][j] > p[best][i][j]:
                best = t
        theta = theta_bg if c == bg_index else theta_fg
        return best == c and p[c][i][j] >= theta

    for c in tagged:
        frontier = [(i, j) for i in range(h) for j in range(w)
                    if label[i][j] == c]
        while frontier:
            added = []
            for i, j in frontier:
                for di, dj in NEIGHBOURS:
                    y, x = i + di, j + dj
                    if (0 <= y < h and 0 <= x < w
                            and label[y][x] == ignore_index
                            and meets(c, y, x)):
                        label[y][x] = c
                        added.append((y, x))
            frontier = sorted(added)
    return np.array(label, dtype=seeds.dtype)


# ----------------------------------------------------------------- growing

LEVELS = np.array([0., .1, .5, .8, .85, .9, .95, .99, 1.])


def _random_case(rng: np.random.Generator) -> dict:
    """Random map, seeds, tags and thresholds. Half the maps are quantised
    to ``LEVELS`` (exact ties, probabilities equal to the thresholds), half
    are softmaxes of noise; thresholds are drawn from ``LEVELS``."""
    c = int(rng.integers(1, 6))
    h, w = (int(v) for v in rng.integers(1, 25, size=2))
    if rng.random() < 0.5:
        probs = LEVELS[rng.integers(0, len(LEVELS), (c, h, w))]
    else:
        logits = rng.normal(size=(c, h, w)) * rng.uniform(1, 8)
        probs = np.exp(logits) / np.exp(logits).sum(0)
    if rng.random() < 0.3:
        probs = probs.astype(np.float32)
    density = rng.choice([0., .02, .1, .3])
    seeds = np.where(rng.random((h, w)) < density,
                     rng.integers(0, c, (h, w)), IGN).astype(np.uint8)
    tags = rng.permutation(c)[:rng.integers(0, c + 1)].tolist()
    return dict(probs=probs, seeds=seeds, tags=tags,
                theta_fg=float(rng.choice(LEVELS[2:])),
                theta_bg=float(rng.choice(LEVELS[2:])),
                bg_index=[0, None, c - 1][int(rng.integers(0, 3))])


def test_grow_seeds_matches_reference_on_random_cases():
    rng = np.random.default_rng(0)
    stats = dict(grew=0, tie_grown=0, untagged_seed=0, theta_equal_grown=0,
                 mixed_touching=0, no_seed=0)
    for case_id in range(200):
        case = _random_case(rng)
        got = grow_seeds(**case)
        want = reference_grow(**case)
        assert got.dtype == case['seeds'].dtype
        np.testing.assert_array_equal(got, want, err_msg=f'case {case_id}')
        new = got != case['seeds']
        probs, seeds, tags = case['probs'], case['seeds'], case['tags']
        stats['grew'] += bool(new.any())
        if tags:
            sub = np.sort(probs[sorted(tags)], axis=0)
            tie = (sub[-1] == sub[-2]) if len(tags) > 1 else np.zeros_like(new)
            stats['tie_grown'] += bool((tie & new).any())
            top = sub[-1].astype(np.float64)
            stats['theta_equal_grown'] += bool(
                (new & ((top == case['theta_fg']) |
                        (top == case['theta_bg']))).any())
        labelled = seeds[seeds != IGN]
        stats['untagged_seed'] += bool(np.isin(labelled, tags,
                                               invert=True).any())
        stats['no_seed'] += not labelled.size
        right = (seeds[:, 1:] != seeds[:, :-1]) & (seeds[:, 1:] != IGN) & (
            seeds[:, :-1] != IGN)
        stats['mixed_touching'] += bool(right.any())
    # the random cases do cover every situation the test is meant to check
    assert min(stats.values()) >= 10, stats
    assert stats['grew'] >= 60, stats


@pytest.mark.parametrize('seeds, tags, expected', [
    ([[1, IGN]], [0, 1, 2], [[1, 1]]),        # tie 1 vs 2 -> class 1
    ([[2, IGN]], [0, 1, 2], [[2, IGN]]),      # ... so class 2 cannot take it
    ([[2, IGN]], [0, 2], [[2, 2]]),           # untagged 1 ignored -> class 2
    ([[1, IGN]], [0, 1], [[1, 1]]),           # untagged 3 (0.95) ignored
    ([[3, IGN]], [0, 1, 2], [[3, IGN]]),      # untagged seed never grows
])
def test_grow_seeds_argmax_over_tags(seeds, tags, expected):
    probs = np.zeros((4, 1, 2))
    probs[:, 0, 1] = [0., .9, .9, .95]  # the pixel to grow into
    got = grow_seeds(probs, np.array(seeds, np.uint8), tags)
    np.testing.assert_array_equal(got, expected)


def test_grow_seeds_connectivity_and_blocking():
    # 8-connectivity: (1, 1) touches the seed diagonally only
    probs = np.zeros((2, 2, 2))
    probs[0] = .5
    probs[1, 1, 1], probs[0, 1, 1] = .9, .1
    seeds = np.array([[1, IGN], [IGN, IGN]], np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1]),
                                  [[1, IGN], [IGN, 1]])
    # chain growth stops at a pixel that fails P; beyond it nothing grows
    probs = np.zeros((2, 1, 6))
    probs[1] = [[.9, .9, .9, .5, .9, .9]]
    seeds = np.array([[1, IGN, IGN, IGN, IGN, IGN]], np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1]),
                                  [[1, 1, 1, IGN, IGN, IGN]])
    # a seed of another class does not bridge, even if it satisfies P:
    # pixel 0 is class 2's but only touches the class-1 seed; pixel 3 grows
    probs = np.zeros((3, 1, 4))
    probs[2] = .9
    seeds = np.array([[IGN, 1, 2, IGN]], np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1, 2]),
                                  [[IGN, 1, 2, 2]])


def test_grow_seeds_thresholds():
    below = np.nextafter(.85, 0)
    probs = np.zeros((2, 1, 5))
    probs[1] = [[.85, .85, below, .85, .85]]
    probs[0] = 1 - probs[1]
    seeds = np.array([[1, IGN, IGN, IGN, IGN]], np.uint8)
    # equal to theta_fg grows, one ulp below does not (and cuts the chain)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1]),
                                  [[1, 1, IGN, IGN, IGN]])
    # the background has its own threshold: 0.95 grows a foreground class
    # (theta_fg = 0.85) but not the background (theta_bg = 0.99) ...
    probs = np.array([[[.95, .99, .95]], [[.05, .01, .05]]])
    seeds = np.array([[IGN, 0, IGN]], np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1]),
                                  [[IGN, 0, IGN]])
    # ... unless there is no background class
    np.testing.assert_array_equal(
        grow_seeds(probs, seeds, [0, 1], bg_index=None), [[0, 0, 0]])
    # float32 maps are compared in float64: float32(0.99) is above 0.99 ...
    probs32 = np.array([[[.99, .99]], [[.01, .01]]], np.float32)
    seeds = np.array([[0, IGN]], np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs32, seeds, [0, 1]),
                                  [[0, 0]])
    exact = float(probs32[0, 0, 1])
    np.testing.assert_array_equal(
        grow_seeds(probs32, seeds, [0, 1], theta_bg=exact), [[0, 0]])
    np.testing.assert_array_equal(
        grow_seeds(probs32, seeds, [0, 1], theta_bg=np.nextafter(exact, 1)),
        [[0, IGN]])
    # ... and float32(0.9) below 0.9 (a float32 comparison would grow it)
    probs32 = np.array([[[.1, .1]], [[.9, .9]]], np.float32)
    seeds = np.array([[1, IGN]], np.uint8)
    np.testing.assert_array_equal(
        grow_seeds(probs32, seeds, [0, 1], theta_fg=.9), [[1, IGN]])
    np.testing.assert_array_equal(
        grow_seeds(probs32, seeds, [0, 1], theta_fg=float(probs32[1, 0, 1])),
        [[1, 1]])


def test_grow_seeds_degenerate_inputs():
    probs = np.full((2, 3, 3), .99)
    seeds = np.full((3, 3), IGN, np.uint8)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0, 1]), seeds)
    seeds[1, 1] = 0
    np.testing.assert_array_equal(grow_seeds(probs, seeds, []), seeds)
    np.testing.assert_array_equal(grow_seeds(probs, seeds, [0]),
                                  np.zeros((3, 3)))
    with pytest.raises(ValueError, match='tags'):
        grow_seeds(probs, seeds, [2])
    with pytest.raises(ValueError, match='probs'):
        grow_seeds(probs, seeds[:2], [0])


def test_grow_seeds_batch():
    rng = np.random.default_rng(1)
    probs = rng.random((3, 4, 6, 7))
    seeds = np.where(rng.random((3, 6, 7)) < .2, rng.integers(0, 4, (3, 6, 7)),
                     IGN).astype(np.uint8)
    tags = [[0, 1], [2, 3], []]
    got = grow_seeds_batch(probs, seeds, tags, theta_fg=.5, theta_bg=.6)
    for i in range(3):
        np.testing.assert_array_equal(
            got[i], grow_seeds(probs[i], seeds[i], tags[i], theta_fg=.5,
                               theta_bg=.6))
    assert (got != seeds).any()
    with pytest.raises(ValueError):
        grow_seeds_batch(probs, seeds, tags[:2])


# -------------------------------------------------------------- CAM seeds

def _cams() -> np.ndarray:
    """1x10 CAMs; class 0's map (background) is ignored by ``cam_seeds``.

    class 1: max 10, normalised [1, .8, .6, 0, 0, 0, 0, 0, 0, .1]
    class 2: max 18, normalised [0, .5, 0, 0, 0, 0, 1/36, 0, 0, 1]
    With k = 0.2 * 10 = 2: class 1 takes pixels 0, 1; class 2 pixels 9, 1;
    pixel 1 goes to class 1 (.8 > .5). Background (both normalised < .06):
    pixels 3-8; pixel 2 (class 1 at .6) stays unlabelled.
    """
    cams = np.zeros((3, 1, 10))
    cams[0] = 100.
    cams[1, 0] = [10, 8, 6, 0, 0, 0, 0, 0, 0, 1]
    cams[2, 0] = [0, 9, 0, 0, 0, 0, .5, 0, 0, 18]
    return cams


def test_cam_seeds_hand_computed():
    got = cam_seeds(_cams(), [0, 1, 2])
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [[1, 1, IGN, 0, 0, 0, 0, 0, 0, 2]])
    # with a looser background threshold (.7) pixel 2 (.6) is background;
    # pixel 9 (class 1 at .1 but class 2 at 1) is not, and stays class 2's
    np.testing.assert_array_equal(
        cam_seeds(_cams(), [0, 1, 2], bg_threshold=.7),
        [[1, 1, 0, 0, 0, 0, 0, 0, 0, 2]])
    # untagged classes take no part; the background is seeded only if tagged
    np.testing.assert_array_equal(cam_seeds(_cams(), [1, 2]),
                                  [[1, 1] + [IGN] * 7 + [2]])
    np.testing.assert_array_equal(cam_seeds(_cams(), [0, 2]),
                                  [[0, 2, 0, 0, 0, 0, 0, 0, 0, 2]])
    np.testing.assert_array_equal(cam_seeds(_cams(), [0]), np.zeros((1, 10)))
    np.testing.assert_array_equal(cam_seeds(_cams(), [0, 1, 2], 0.),
                                  [[IGN, IGN, IGN, 0, 0, 0, 0, 0, 0, IGN]])


def test_cam_seeds_ties_zeros_and_background_override():
    cams = np.zeros((2, 2, 5))
    cams[1, 0] = [3, 3, 3, 1, 0]
    # k = 2: the three pixels tied at the 2nd largest value are all seeds
    np.testing.assert_array_equal(cam_seeds(cams, [0, 1]),
                                  [[1, 1, 1, IGN, 0], [0, 0, 0, 0, 0]])
    # the background cue is strict: pixel (0, 3) sits at exactly 1/3
    np.testing.assert_array_equal(cam_seeds(cams, [0, 1], bg_threshold=1 / 3),
                                  [[1, 1, 1, IGN, 0], [0, 0, 0, 0, 0]])
    # a CAM with fewer positive pixels than k seeds only those pixels
    np.testing.assert_array_equal(cam_seeds(cams, [0, 1], fg_fraction=.9),
                                  [[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
    # equal normalised CAMs of two classes: the lower class id wins
    tied = np.stack([cams[0], cams[1], cams[1] * 2])
    np.testing.assert_array_equal(cam_seeds(tied, [1, 2]),
                                  [[1, 1, 1, IGN, IGN], [IGN] * 5])
    # a given background cue replaces the CAM one; foreground has precedence
    background = np.zeros((2, 5), bool)
    background[0] = True
    np.testing.assert_array_equal(
        cam_seeds(cams, [0, 1], background=background),
        [[1, 1, 1, 0, 0], [IGN] * 5])
    with pytest.raises(ValueError):
        cam_seeds(cams, [0, 1], background=background[:1])
    with pytest.raises(ValueError):
        cam_seeds(cams, [0, 1], fg_fraction=1.5)


# ------------------------------------------------------------ seed quality

def test_seed_quality_hand_computed():
    full = np.array([[0, 0, 1, 1], [0, IGN, 1, 2]])
    seeds = np.array([[0, IGN, 1, 0], [IGN, 1, IGN, IGN]])
    q = seed_quality(seeds, full)
    # 3 seed pixels on labelled ground truth ((1, 1) is on an ignored one),
    # 2 of them right; 7 labelled ground-truth pixels
    assert q['precision'] == pytest.approx(2 / 3)
    assert q['recall'] == pytest.approx(2 / 7)
    # IoU: class 0 1/(3+2-1), class 1 1/(3+1-1), class 2 0/(1+0-0)
    assert q['IoU'] == pytest.approx((1 / 4 + 1 / 3 + 0) / 3)
    # perfect seeds covering everything; no seed at all
    assert seed_quality(np.where(full == IGN, 0, full), full) == dict(
        precision=1., recall=1., IoU=1.)
    empty = seed_quality(np.full_like(full, IGN), full)
    assert math.isnan(empty['precision'])
    assert (empty['recall'], empty['IoU']) == (0., 0.)
    # stacked maps give the pooled figures
    both = seed_quality(np.stack([seeds, seeds]), np.stack([full, full]))
    assert both == pytest.approx(q)
    with pytest.raises(ValueError):
        seed_quality(seeds[:1], full)


# -------------------------------------------------- balanced seeding loss

FLOOR = 1e-4  # min_prob


def _nll(p: float) -> float:
    return -math.log(p + FLOOR)


def test_balanced_seed_loss_hand_computed():
    probs = torch.tensor([[[[.2, .6]], [[.7, .3]], [[.1, .1]]],
                          [[[.1, .3]], [[.1, .3]], [[.8, .4]]]],
                         requires_grad=True)
    seeds = torch.tensor([[[1, 0]], [[2, 2]]])
    loss = balanced_seed_loss(probs, seeds)
    # fg: image 0 -log .7, image 1 mean(-log .8, -log .4), averaged; bg:
    # only image 0 has background seeds
    fg = (_nll(.7) + (_nll(.8) + _nll(.4)) / 2) / 2
    assert loss.item() == pytest.approx(fg + _nll(.6), rel=1e-6)
    loss.backward()
    assert torch.isfinite(probs.grad).all()
    # unlike SEC's seed loss, a few foreground seeds weigh as much as many
    # background ones: 1 fg seed vs 3 bg seeds
    p = torch.tensor([[[[.5, .9, .9, .9]], [[.5, .1, .1, .1]]]])
    s = torch.tensor([[[1, 0, 0, 0]]])
    assert balanced_seed_loss(p, s).item() == pytest.approx(
        _nll(.5) + _nll(.9), rel=1e-6)
    assert seed_loss(p, s).item() == pytest.approx(
        (_nll(.5) + 3 * _nll(.9)) / 4, rel=1e-6)


@pytest.mark.parametrize('seeds, expected', [
    ([[[IGN, IGN]]], 0.),              # no seed at all
    ([[[0, 0]]], _nll(.6) / 2 + _nll(.4) / 2),   # background only
    ([[[1, IGN]]], _nll(.4)),          # foreground only
])
def test_balanced_seed_loss_empty_sets(seeds, expected):
    probs = torch.tensor([[[[.6, .4]], [[.4, .6]]]], requires_grad=True)
    loss = balanced_seed_loss(probs, torch.tensor(seeds), bg_index=0)
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(expected, rel=1e-6, abs=1e-12)
    loss.backward()
    assert torch.isfinite(probs.grad).all()
    labelled = torch.tensor(seeds) != IGN
    assert (probs.grad.abs().sum(1) > 0).eq(labelled).all()
