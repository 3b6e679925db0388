"""Semantic proportions (SPSS paper): patch tiling and the two annotation
degradations of its sensitivity analysis (§3.2).

Proportions are ``(N, C)`` arrays, one row per image, each row summing to 1
(see :func:`~mmseg_wsss.algorithms.weak_labels.class_proportions`).
"""
from typing import List, Tuple

import numpy as np
from scipy.cluster.vq import kmeans2


def tile_boxes(height: int, width: int, size: int,
               stride: int = 0) -> List[Tuple[int, int, int, int]]:
    """Top-left-first ``(y0, x0, y1, x1)`` tiles of ``size`` x ``size``.

    Tiles start every ``stride`` pixels (default ``size``: no overlap) and
    the last row/column is moved back to end at the border, so every tile
    is full-size and the whole image is covered. A side shorter than
    ``size`` gives one tile spanning it.
    """
    stride = stride or size
    if size <= 0 or stride <= 0:
        raise ValueError(f'size and stride must be > 0, got {size}, {stride}')

    def starts(length: int) -> List[int]:
        if length <= size:
            return [0]
        out = list(range(0, length - size + 1, stride))
        if out[-1] != length - size:
            out.append(length - size)
        return out

    return [(y, x, min(y + size, height), min(x + size, width))
            for y in starts(height) for x in starts(width)]


def noisy_proportions(props: np.ndarray, sigma: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Eq. (5): add ``N(0, sigma)`` to every proportion, then renormalise
    each row with the softmax, as the paper does.

    The softmax (temperature 1) also flattens clean proportions (e.g.
    ``(0.9, 0.1)`` becomes ``(0.69, 0.31)``), so ``sigma = 0`` already
    changes the targets; the class order within a row is what survives.
    """
    props = np.asarray(props, dtype=np.float64)
    noisy = props + rng.normal(0.0, sigma, size=props.shape)
    noisy = np.exp(noisy - noisy.max(1, keepdims=True))
    return noisy / noisy.sum(1, keepdims=True)


def cluster_proportions(props: np.ndarray, k: int,
                        rng: np.random.Generator
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """§3.2 clustering degradation (Fig. 7): K-means on the rows, then every
    image gets the proportions of one random member of its cluster.

    Returns ``(degraded, cluster_of_each_row)``. K-means is scipy's
    ``kmeans2`` with k-means++ seeding drawn from ``rng``; a cluster left
    empty by K-means simply has no members.
    """
    props = np.asarray(props, dtype=np.float64)
    if not 1 <= k <= len(props):
        raise ValueError(f'k must be in [1, {len(props)}] (the number of '
                         f'images), got {k}')
    _, labels = kmeans2(props, k, minit='++', seed=rng)
    degraded = np.empty_like(props)
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        degraded[members] = props[rng.choice(members)]
    return degraded, labels
