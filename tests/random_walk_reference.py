"""Dense reference of IRN's random walk (``propagate_to_edge``), written
from its description, for the tests and the benchmark of
:mod:`mmseg_wsss.algorithms.random_walk`.

IRN (Ahn et al., CVPR 2019) builds the full ``(HW)^2`` affinity matrix on
the boundary map: 1 on the diagonal, ``(1 - max B on the path)`` for both
orders of every pair ``(i, i + d)`` with ``d`` one of its half-plane
offsets, all raised to ``beta``; ``T = A / colsum(A)``, squared
``exp_times`` times, and the maps ``x * (1 - B)`` (rows) multiplied by
``T^(2^exp_times)``. Pure Python loops for the offsets, paths and
affinities (independent of the package's vectorised code); numpy for the
matrix algebra. Memory ``O((HW)^2)``: small maps only.
"""
from typing import List, Optional, Tuple

import numpy as np


def irn_offsets(radius: int = 5) -> List[Tuple[int, int]]:
    """IRN's search directions, as its ``get_search_paths_dst`` lists
    them: ``(0, x)`` for ``x = 1 .. radius - 1``, then rows ``y = 1 ..
    radius - 1``, ``x = -radius + 1 .. radius - 1`` inside the disc."""
    dirs = [(0, x) for x in range(1, radius)]
    for y in range(1, radius):
        for x in range(-radius + 1, radius):
            if x * x + y * y < radius * radius:
                dirs.append((y, x))
    return dirs


def irn_path(dy: int, dx: int) -> List[Tuple[int, int]]:
    """Pixels of the bounding box of ``(0, 0)`` and ``(dy, dx)`` within
    distance 1 of the line through them (IRN's float test)."""
    length_sq = dy * dy + dx * dx
    path = []
    for y in range(min(0, dy), max(0, dy) + 1):
        for x in range(min(0, dx), max(0, dx) + 1):
            if (dy * x - dx * y)**2 / length_sq < 1:
                path.append((y, x))
    return path


def dense_affinity(boundary: np.ndarray, beta: float = 5.0,
                   radius: int = 5) -> np.ndarray:
    """IRN's ``(HW, HW)`` affinity matrix, ``beta`` applied, pixel by
    pixel."""
    h, w = boundary.shape
    b = boundary.tolist()
    aff = np.eye(h * w)
    for dy, dx in irn_offsets(radius):
        path = irn_path(dy, dx)
        for y in range(h):
            for x in range(w):
                if not (0 <= y + dy < h and 0 <= x + dx < w):
                    continue
                top = max(b[y + py][x + px] for py, px in path)
                i, j = y * w + x, (y + dy) * w + x + dx
                aff[i, j] = aff[j, i] = (1.0 - top)**beta
    return aff


def dense_affinity_from(aff: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The same matrix scattered from per-offset affinities ``(K, H, W)``
    (IRN's ``affinity_sparse2dense``; for the benchmark)."""
    k, h, w = aff.shape
    idx = np.arange(h * w).reshape(h, w)
    dense = np.eye(h * w)
    for (dy, dx), a in zip(offsets, aff):
        ys = slice(0, max(0, h - dy))
        xs = slice(max(0, -dx), max(0, w - max(0, dx)))
        src = idx[ys, xs]
        dst = idx[dy:dy + src.shape[0], xs.start + dx:xs.start + dx
                  + src.shape[1]]
        dense[src, dst] = a[ys, xs]
        dense[dst, src] = a[ys, xs]
    return dense


def dense_power(aff: np.ndarray, exp_times: int = 8) -> np.ndarray:
    """IRN's ``to_transition_matrix`` (``beta`` already in ``aff``):
    ``T = A / colsum(A)``, squared ``exp_times`` times: ``T^(2^exp)``."""
    trans = aff / aff.sum(0, keepdims=True)
    for _ in range(exp_times):
        trans = trans @ trans
    return trans


def dense_random_walk(cams: np.ndarray, boundary: np.ndarray,
                      beta: float = 5.0, radius: int = 5,
                      exp_times: int = 8,
                      aff: Optional[np.ndarray] = None) -> np.ndarray:
    """``(cams * (1 - B)) T^(2^exp_times)``, ``(C, H, W)``."""
    c, h, w = cams.shape
    if aff is None:
        aff = dense_affinity(boundary, beta, radius)
    trans = dense_power(aff, exp_times)
    x = (cams * (1.0 - boundary)).reshape(c, h * w)
    return (x @ trans).reshape(c, h, w)
