"""BES §3.1, eq. (5): random-walk propagation of localization maps under a
boundary map, with IRN's settings (half-plane offsets within radius 5,
IRN's discrete paths, self-loops, 2^8 steps, padding with boundary 1,
background score 0.25), against hand-computed cases and the dense
``(HW)^2`` reference of ``random_walk_reference`` (IRN's ``T^(2^k)`` by
repeated squaring)."""
import time
import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmseg_wsss.algorithms.random_walk as rw
from random_walk_reference import (dense_affinity, dense_affinity_from,
                                   dense_power, dense_random_walk, irn_offsets,
                                   irn_path)


def _boundary(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Boundary-like maps: mostly low, some pixels exactly 0 or 1."""
    b = rng.random((h, w))**3
    b[rng.random((h, w)) < 0.1] = 1.0
    b[rng.random((h, w)) < 0.1] = 0.0
    return b


# ----------------------------------------------------------------- offsets

def test_offsets_are_irns_half_plane():
    off = rw.neighbour_offsets(5)
    assert off.shape == (34, 2)
    members = {tuple(d) for d in off.tolist()}
    for d in [(0, 1), (0, 4), (1, -4), (1, 4), (2, -4), (3, 3), (4, -2),
              (4, 0), (4, 2)]:
        assert d in members
    for d in [(0, 0), (0, 5), (0, -1), (-1, 0), (3, 4), (4, 3), (5, 0),
              (1, -5), (-4, 2)]:
        assert d not in members
    # one of each pair +-d: with its mirror and 0, the whole disc |d| < 5
    assert not members & {(-y, -x) for y, x in members}
    disc = {(y, x) for y in range(-5, 6) for x in range(-5, 6)
            if y * y + x * x < 25}
    assert members | {(-y, -x) for y, x in members} | {(0, 0)} == disc
    for r in range(1, 8):  # IRN's order too
        assert rw.neighbour_offsets(r).tolist() == [list(d)
                                                    for d in irn_offsets(r)]
    assert rw.neighbour_offsets(1).shape == (0, 2)


def test_path_pixels_hand_checked():
    def path(d):
        return sorted(map(tuple, rw.path_pixels(d).tolist()))

    assert path((0, 4)) == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]
    assert path((4, 0)) == [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)]
    assert path((1, 1)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert path((1, -1)) == [(0, -1), (0, 0), (1, -1), (1, 0)]
    # (3x - 2y)^2 < 13 in the 4x3 box
    assert path((3, 2)) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (2, 2),
                            (3, 1), (3, 2)]
    for r in (3, 5, 7):
        for d in irn_offsets(r):
            assert path(d) == sorted(irn_path(*d)), d


# -------------------------------------------------------------- affinities

def test_vertical_boundary_line_blocks_horizontal_neighbours():
    h, w, col = 9, 12, 5
    b = np.zeros((h, w))
    b[:, col] = 1.0
    off = rw.neighbour_offsets(5)
    aff = rw.path_affinities(b, off, beta=5)
    assert aff.shape == (34, h, w)
    for k, (dy, dx) in enumerate(off):
        for y in range(h):
            for x in range(w):
                y2, x2 = y + dy, x + dx
                inside = 0 <= y2 < h and 0 <= x2 < w
                same_side = (x < col and x2 < col) or (x > col and x2 > col)
                assert aff[k, y, x] == float(inside and same_side)
    # e.g. the horizontal pair (4, 3) -> (4, 7) straddles the line
    assert aff[3, 4, 3] == 0 and aff[3, 4, 6] == 1
    b[:, col] = 0.5
    aff = rw.path_affinities(b, off, beta=5)
    assert aff[3, 4, 3] == 0.5**5 and aff[3, 4, 6] == 1.0
    # a line of ones: the pairs along it touch it as well
    assert aff[off.tolist().index([1, 0]), 2, col] == 0.5**5


@pytest.mark.parametrize('shape', [(1, 1), (1, 9), (6, 1), (3, 2), (7, 11),
                                   (16, 9), (24, 24)])
def test_path_affinities_match_pixel_loops(shape):
    rng = np.random.default_rng(sum(shape))
    b = _boundary(rng, *shape)
    for beta in (1.0, 5.0, 10.0):
        dense = dense_affinity_from(
            rw.path_affinities(b, rw.neighbour_offsets(5), beta),
            rw.neighbour_offsets(5))
        np.testing.assert_allclose(dense, dense_affinity(b, beta), rtol=0,
                                   atol=1e-15)


@pytest.mark.parametrize('shape', [(1, 7), (5, 3), (13, 8), (24, 24)])
def test_transition_matrix_is_irns_normalised_transpose(shape):
    rng = np.random.default_rng(shape[0])
    b = _boundary(rng, *shape)
    mat = rw.transition_matrix(b, beta=5)
    n = b.size
    assert mat.shape == (n, n) and mat.format == 'csr'
    assert mat.has_canonical_format
    assert mat.nnz <= 69 * n
    dense = mat.toarray()
    aff = dense_affinity(b, 5.0)
    # IRN: T = A / colsum(A) (columns sum to one); ours is T^T
    irn_t = aff / aff.sum(0, keepdims=True)
    np.testing.assert_allclose(dense, irn_t.T, rtol=0, atol=1e-14)
    np.testing.assert_allclose(dense.sum(1), 1.0, rtol=0, atol=1e-14)
    assert (np.diag(dense) > 0).all()


# -------------------------------------------------------------- propagation

@pytest.mark.parametrize('shape,classes,beta', [
    ((1, 1), 1, 5.0), ((1, 13), 2, 5.0), ((9, 1), 1, 5.0), ((4, 4), 3, 5.0),
    ((7, 19), 2, 10.0), ((20, 11), 4, 5.0), ((17, 24), 1, 2.0),
    ((24, 24), 3, 5.0), ((23, 24), 2, 10.0)])
def test_propagate_matches_dense_repeated_squaring(shape, classes, beta):
    rng = np.random.default_rng(shape[0] * 31 + shape[1])
    for _ in range(2):
        b = _boundary(rng, *shape)
        cams = rng.random((classes, *shape))
        cams[:, rng.random(shape) < 0.5] = 0
        ref = dense_random_walk(cams, b, beta=beta, exp_times=8)
        out = rw.propagate(cams, b, beta=beta, steps=256)
        assert out.shape == ref.shape and out.dtype == np.float64
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)
        assert np.abs(out - ref).max() < 1e-10  # in fact to rounding
        # a weighted mean at every step: never above the masked maps' max
        masked = cams * (1 - b)
        assert (out <= masked.max((1, 2), keepdims=True) + 1e-12).all()


def test_propagate_steps_are_powers_of_t():
    rng = np.random.default_rng(3)
    b = _boundary(rng, 10, 14)
    cams = rng.random((2, 10, 14))
    aff = dense_affinity(b, 5.0)
    for exp in (0, 1, 3):
        np.testing.assert_allclose(
            rw.propagate(cams, b, steps=2**exp),
            dense_random_walk(cams, b, exp_times=exp, aff=aff), rtol=0,
            atol=1e-12)
    trans = aff / aff.sum(0, keepdims=True)
    x = (cams * (1 - b)).reshape(2, -1)
    np.testing.assert_allclose(rw.propagate(cams, b, steps=5).reshape(2, -1),
                               x @ np.linalg.matrix_power(trans, 5), rtol=0,
                               atol=1e-12)
    np.testing.assert_array_equal(rw.propagate(cams, b, steps=0),
                                  cams * (1 - b))


def test_float32_walk_close_to_float64():
    rng = np.random.default_rng(5)
    b = _boundary(rng, 24, 20)
    cams = rng.random((2, 24, 20))
    out = rw.propagate(cams, b, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, rw.propagate(cams, b), rtol=0,
                               atol=1e-5)


def _ring(h: int, w: int, top: int, left: int, size: int) -> np.ndarray:
    b = np.zeros((h, w))
    b[top, left:left + size] = b[top + size - 1, left:left + size] = 1
    b[top:top + size, left] = b[top:top + size, left + size - 1] = 1
    return b


def test_closed_boundary_is_never_crossed():
    h, w = 30, 36
    b = _ring(h, w, 6, 9, 14)
    rng = np.random.default_rng(0)
    b = np.where(b == 1, 1.0, 0.3 * rng.random((h, w)))
    inside = np.zeros((h, w), bool)
    inside[7:19, 10:22] = True
    ring = b == 1
    outside = ~inside & ~ring
    cams = np.zeros((2, h, w))
    cams[0, 12, 15] = 1.0  # a single peak of class 0 inside
    cams[1, 2:5, 2:5] = 1.0  # class 1 outside only
    walked = rw.propagate(cams, b)
    assert (walked[0][outside | ring] == 0).all()
    assert (walked[1][inside | ring] == 0).all()
    assert (walked[0][inside] > 0).all() and (walked[1][outside] > 0).all()
    # the class-0 peak fills its region, class 1 the rest (stride 1)
    _, labels = rw.random_walk(cams * 0.9, b, stride=1, bg_score=1e-12,
                               return_labels=True)
    assert (labels[inside] == 1).all() and (labels[outside] == 2).all()
    assert (labels[ring] == 0).all()
    # without the ring class 0 leaks out
    open_b = np.where(ring, 0.0, b)
    assert (rw.propagate(cams, open_b)[0][outside] > 0).any()


# --------------------------------------------------- labels (IRN's pipeline)

@pytest.mark.parametrize('size,stride', [((8, 5), 1), ((13, 7), 2),
                                         ((61, 90), 4), ((96, 72), 4)])
def test_upsample_matches_torch_interpolate(size, stride):
    rng = np.random.default_rng(stride)
    maps = rng.random((3, *rw.strided_size(size, stride)))
    ours = rw.upsample_bilinear(maps, stride, size)
    ref = F.interpolate(torch.from_numpy(maps)[None], scale_factor=stride,
                        mode='bilinear', align_corners=False)
    ref = ref[0, :, :size[0], :size[1]].numpy()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def _irn_labels(cams, boundary, image_size, beta=5.0, bg=0.25):
    """IRN's semantic-label step around the dense walk, with torch."""
    walked = torch.from_numpy(dense_random_walk(cams, boundary, beta=beta))
    up = F.interpolate(walked[:, None], scale_factor=4, mode='bilinear',
                       align_corners=False)[:, 0, :image_size[0],
                                            :image_size[1]]
    up = up / torch.max(up)
    scores = F.pad(up, (0, 0, 0, 0, 1, 0), value=bg)
    return scores.numpy(), torch.argmax(scores, dim=0).numpy()


@pytest.mark.parametrize('image_size', [(90, 70), (64, 64), (37, 96)])
def test_random_walk_matches_irn_semantic_labels(image_size):
    rng = np.random.default_rng(image_size[1])
    small = rw.strided_size(image_size, 4)
    b = _boundary(rng, *small)
    cams = rng.random((3, *small))**4
    scores, labels = rw.random_walk(cams, b, image_size=image_size,
                                    return_labels=True)
    ref_scores, ref_labels = _irn_labels(cams, b, image_size)
    assert scores.shape == (4, *image_size) and labels.shape == image_size
    assert labels.dtype == np.uint8
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-6)
    assert scores[1:].max() == 1.0 and (scores[0] == 0.25).all()
    np.testing.assert_array_equal(labels, ref_labels)
    assert (labels == 0).any() and (labels > 0).any()
    # default image size: the boundary map's times the stride
    assert rw.random_walk(cams, b).shape == (4, small[0] * 4, small[1] * 4)


def test_random_walk_without_activation_is_background():
    b = np.zeros((6, 5))
    scores, labels = rw.random_walk(np.zeros((2, 6, 5)), b, return_labels=True)
    assert np.isfinite(scores).all() and (labels == 0).all()
    # ties at exactly the background score go to the background
    cams = np.ones((1, 6, 5))
    _, labels = rw.random_walk(cams, b, bg_score=1.0, return_labels=True)
    assert (labels == 0).all()


# ------------------------------------------------------------------ memory

def test_512_walk_is_sparse_and_small():
    rng = np.random.default_rng(0)
    b = rng.random((512, 512))**4
    cams = rng.random((2, 512, 512))
    tracemalloc.start()
    try:
        start = time.perf_counter()
        mat = rw.transition_matrix(b)
        scores = rw.random_walk(cams, b, steps=2, stride=1)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    n = b.size
    assert mat.nnz <= 69 * n and mat.nnz > 60 * n  # a few edge pixels fewer
    # the dense (HW)^2 float64 matrix alone would be 512 GiB
    assert peak < 1 << 30, peak / 2**20
    assert seconds < 30, seconds
    assert scores.shape == (3, 512, 512)


# -------------------------------------------------------------- bad inputs

def test_bad_inputs():
    b = np.zeros((4, 5))
    with pytest.raises(ValueError, match='cams'):
        rw.propagate(np.zeros((2, 5, 4)), b)
    with pytest.raises(ValueError, match='cams'):
        rw.propagate(np.zeros((4, 5)), b)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        rw.propagate(np.zeros((1, 4, 5)), b + 1.5)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        rw.propagate(np.zeros((1, 4, 5)), np.full((4, 5), np.nan))
    with pytest.raises(ValueError, match='steps'):
        rw.propagate(np.zeros((1, 4, 5)), b, steps=-1)
    with pytest.raises(ValueError, match='image size'):
        rw.random_walk(np.zeros((1, 4, 5)), b, image_size=(20, 21))
    with pytest.raises(ValueError, match='radius'):
        rw.neighbour_offsets(0)
    with pytest.raises(ValueError, match='beta'):
        rw.path_affinities(b, beta=0)
    # (13, 17) at stride 4 is (4, 5): accepted
    assert rw.random_walk(np.zeros((1, 4, 5)), b,
                          image_size=(13, 17)).shape == (2, 13, 17)


def test_dense_reference_squaring_is_matrix_power():
    """The reference itself: T^(2^3) by squaring equals the 8th power."""
    rng = np.random.default_rng(1)
    aff = dense_affinity(_boundary(rng, 5, 6), 5.0)
    trans = aff / aff.sum(0, keepdims=True)
    np.testing.assert_allclose(dense_power(aff, 3),
                               np.linalg.matrix_power(trans, 8), atol=1e-14)
