"""Random-walk propagation of localization maps under a boundary map.

BES (Chen et al., "Weakly Supervised Semantic Segmentation with Boundary
Exploration", ECCV 2020), §3.1 "Revising Localization Maps with Explored
Boundaries": the boundary map ``B`` predicted by BENet becomes the semantic
affinities of eq. (5),

    ``a_ij = (1 - max_{k in Pi_ij} B_k)^beta``  if ``|i - j| < gamma``,
    ``a_ij = 0``                                otherwise,

and the localization maps are propagated by a random walk whose transition
probabilities are the normalised affinities. §4.1: "we use the setting
given in [1] except beta = 5", [1] being IRN (Ahn, Cho and Kwak, "Weakly
Supervised Learning of Instance Segmentation with Inter-pixel Relations",
CVPR 2019). This module follows IRN's ``propagate_to_edge`` and its
semantic-label step (the BES code changes only ``beta`` from 10 to 5):

* neighbours: IRN's half-plane offsets ``(dy, dx)`` with
  ``dy**2 + dx**2 < radius**2``, ``radius = gamma = 5``, at the boundary
  map's stride (4); the other half comes from symmetry
  (:func:`neighbour_offsets`);
* path ``Pi_ij``: IRN's discrete path, every pixel of the bounding box of
  ``i`` and ``j`` whose distance to the straight line through ``i`` and
  ``j`` is below one pixel, both ends included (:func:`path_pixels`);
* affinity matrix ``A``: ``a_ij`` for both orders of each pair, a self-loop
  ``a_ii = 1``, nothing else (:func:`path_affinities`);
* transition matrix: IRN's ``T = A / colsum(A)`` (columns sum to one) and
  ``x T^(2^8)``, i.e. ``2^8 = 256`` steps; we hold ``P = T^T = D^-1 A``
  (rows sum to one, ``D`` the degrees), sparse, and apply it 256 times to
  the maps as columns, which is the same product without ever forming an
  ``(HW)^2`` matrix (:func:`transition_matrix`, :func:`propagate`);
* the maps are multiplied by ``1 - B`` before the walk (IRN);
* the boundary is padded with 1 outside the image (IRN): a pair whose
  partner lies outside the image has affinity 0, so the walk never leaves
  the image and the degrees count in-image neighbours only;
* labels (:func:`random_walk`): bilinear upsampling by the stride
  (``align_corners=False``), crop to the image, division by the global
  maximum over classes and pixels, a constant background score 0.25
  prepended, arg-max.

Plain numpy / scipy; memory ``O(HW * |offsets|)``.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from scipy import sparse

ArrayPair = Tuple[np.ndarray, np.ndarray]


def neighbour_offsets(radius: int = 5) -> np.ndarray:
    """IRN's search directions: the half-plane offsets ``(dy, dx)`` with
    ``0 < dy**2 + dx**2 < radius**2`` and ``dy > 0``, or ``dy == 0`` and
    ``dx > 0`` (eq. 5's ``P(i, j) < gamma``, one of each pair ``+-d``).

    ``(K, 2)`` int64 in IRN's order (``(0, 1) .. (0, radius - 1)``, then
    row by row, ``dx`` increasing); 34 offsets for ``radius = 5``.
    """
    if int(radius) != radius or radius < 1:
        raise ValueError(f'radius {radius} must be a positive integer')
    r = int(radius)
    dy, dx = np.mgrid[0:r, -r + 1:r]
    dy, dx = dy.ravel(), dx.ravel()
    keep = (dy * dy + dx * dx < r * r) & ((dy > 0) | (dx > 0))
    return np.stack([dy[keep], dx[keep]], 1).astype(np.int64)


def path_pixels(offset: Sequence[int]) -> np.ndarray:
    """IRN's discrete path ``Pi_ij`` from ``i`` to ``j = i + offset``:
    ``(L, 2)`` offsets ``(y, x)`` relative to ``i`` of the pixels of the
    bounding box of ``i`` and ``j`` whose distance to the line through
    ``i`` and ``j`` is below 1, i.e. ``(dy x - dx y)^2 < dy^2 + dx^2``
    (exact in integers), ``i`` and ``j`` included."""
    dy, dx = (int(v) for v in offset)
    if dy == dx == 0:
        return np.zeros((1, 2), dtype=np.int64)
    y, x = np.mgrid[min(0, dy):max(0, dy) + 1, min(0, dx):max(0, dx) + 1]
    keep = (dy * x - dx * y)**2 < dy * dy + dx * dx
    return np.stack([y[keep], x[keep]], 1).astype(np.int64)


def _check_boundary(boundary: np.ndarray) -> np.ndarray:
    b = np.asarray(boundary, dtype=np.float64)
    if b.ndim != 2 or not b.size:
        raise ValueError(f'boundary {b.shape} must be a non-empty (H, W) map')
    if not (np.isfinite(b).all() and b.min() >= 0 and b.max() <= 1):
        raise ValueError('boundary values must lie in [0, 1]')
    return b


def path_affinities(boundary: np.ndarray,
                    offsets: Optional[np.ndarray] = None,
                    beta: float = 5.0) -> np.ndarray:
    """Eq. (5): ``a[k, y, x] = (1 - max_{Pi} B)^beta`` between pixel
    ``(y, x)`` and ``(y, x) + offsets[k]`` along :func:`path_pixels`.

    ``boundary`` ``(H, W)`` in ``[0, 1]``; ``offsets`` ``(K, 2)`` (default:
    :func:`neighbour_offsets` ``(5)``). Returns ``(K, H, W)`` float64; 0
    where the partner lies outside the image (IRN pads the boundary with
    1). Vectorised: one ``max`` of shifted views per path pixel.
    """
    b = _check_boundary(boundary)
    if not beta > 0:
        raise ValueError(f'beta {beta} must be positive')
    offsets = neighbour_offsets() if offsets is None else np.asarray(offsets)
    h, w = b.shape
    r = int(np.abs(offsets).max(initial=0))
    padded = np.pad(b, r, constant_values=1.0)  # IRN's padding with 1
    out = np.empty((len(offsets), h, w))
    for k, off in enumerate(offsets):
        m = out[k]
        m.fill(0.0)
        for py, px in path_pixels(off):
            np.maximum(m, padded[r + py:r + py + h, r + px:r + px + w], out=m)
        np.subtract(1.0, m, out=m)
        np.power(m, beta, out=m)
    return out


def _stencil(offsets: np.ndarray, width: int) -> Tuple[np.ndarray, np.ndarray]:
    """All neighbours ``-offsets``, ``0``, ``offsets`` sorted by their
    linear index offset ``dy * width + dx`` (so each CSR row's valid
    columns come out sorted), and for each the index into ``offsets``
    (``k`` for ``+d_k``, ``-1 - k`` for ``-d_k``, ``K`` for the self-loop).
    """
    k = len(offsets)
    stencil = np.concatenate([-offsets, np.zeros((1, 2), np.int64), offsets])
    source = np.concatenate([-1 - np.arange(k), [k], np.arange(k)])
    order = np.argsort(stencil[:, 0] * width + stencil[:, 1], kind='stable')
    return stencil[order], source[order]


def transition_matrix(boundary: np.ndarray, beta: float = 5.0,
                      radius: int = 5,
                      dtype: Union[type, np.dtype] = np.float64
                      ) -> sparse.csr_matrix:
    """Row-stochastic random-walk matrix ``P = D^-1 A`` over the ``H * W``
    pixels of ``boundary`` (raster order), scipy CSR.

    ``A`` is IRN's affinity matrix: eq. (5) (:func:`path_affinities`) for
    both orders of every pair closer than ``radius``, 1 on the diagonal;
    ``D = diag(sum_j A_ij)``. ``A`` is symmetric, so ``P`` is the transpose
    of IRN's column-normalised ``T = A D^-1`` and ``x T^n`` (IRN's maps as
    rows) equals ``(P^n x^T)^T``. At most ``2 K + 1`` entries a row (69 for
    ``radius = 5``); zero affinities (a boundary of 1 on the path) are not
    stored.
    """
    offsets = neighbour_offsets(radius)
    aff = path_affinities(boundary, offsets, beta)
    h, w = aff.shape[1:]
    n = h * w
    stencil, source = _stencil(offsets, w)
    weights = np.zeros((h, w, len(stencil)), dtype=np.float64)
    for s, ((dy, dx), k) in enumerate(zip(stencil, source)):
        if abs(dy) >= h or abs(dx) >= w:
            continue  # no partner in the image: no entry
        # pixels (y, x) whose partner (y + dy, x + dx) is in the image
        ys, yd = slice(max(0, -dy), h - max(0, dy)), slice(
            max(0, dy), h - max(0, -dy))
        xs, xd = slice(max(0, -dx), w - max(0, dx)), slice(
            max(0, dx), w - max(0, -dx))
        if k == len(offsets):
            weights[:, :, s] = 1.0
        elif k >= 0:  # a[k] at (y, x)
            weights[ys, xs, s] = aff[k][ys, xs]
        else:  # the pair seen from the partner: a[-1 - k] at the partner
            weights[ys, xs, s] = aff[-1 - k][yd, xd]
    del aff
    weights = weights.reshape(n, -1)
    weights /= weights.sum(1, keepdims=True)  # >= 1 from the self-loop
    keep = weights != 0
    data = weights[keep].astype(dtype, copy=False)
    del weights
    index = np.int32 if n + int(np.abs(stencil).max()) * (w + 1) < 2**31 \
        else np.int64
    lin = (stencil[:, 0] * w + stencil[:, 1]).astype(index)
    cols = np.arange(n, dtype=index)[:, None] + lin
    cols = cols[keep]
    indptr = np.zeros(n + 1, dtype=index)
    np.cumsum(keep.sum(1), out=indptr[1:])
    del keep
    mat = sparse.csr_matrix((data, cols, indptr), shape=(n, n), copy=False)
    mat.has_sorted_indices = True
    return mat


def _check_maps(cams: np.ndarray, boundary: np.ndarray) -> np.ndarray:
    cams = np.asarray(cams)
    if cams.ndim != 3 or cams.shape[1:] != np.shape(boundary):
        raise ValueError(f'cams {cams.shape} must be (C, '
                         f'*{np.shape(boundary)}), the boundary map\'s size')
    if not np.isfinite(cams).all():
        raise ValueError('cams must be finite')
    return cams


def propagate(cams: np.ndarray, boundary: np.ndarray, beta: float = 5.0,
              radius: int = 5, steps: int = 256,
              dtype: Union[type, np.dtype] = np.float64) -> np.ndarray:
    """IRN's ``propagate_to_edge`` with BES's eq. (5): ``steps`` random-walk
    steps of the maps ``cams`` ``(C, H, W)`` at the boundary map's
    resolution ``(H, W)``.

    Returns ``(C, H, W)`` (``dtype``), row ``c`` being
    ``(cams[c] * (1 - B)) T^steps`` with IRN's column-stochastic ``T``
    (:func:`transition_matrix`; IRN: ``steps = 2^exp_times = 2^8``). Every
    step replaces a pixel's value by the ``P``-weighted mean of its
    neighbours', so values stay within the range of ``cams * (1 - B)``; no
    further normalisation here. ``dtype`` float32 halves the matrix's
    values (not its indices) at about 1e-6 relative error; it is not
    faster with scipy.
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f'steps {steps} must be a non-negative integer')
    b = _check_boundary(boundary)
    cams = _check_maps(cams, b)
    c, h, w = cams.shape
    mat = transition_matrix(b, beta, radius, dtype)
    x = (cams * (1.0 - b)).reshape(c, h * w).T.astype(dtype)
    x = np.ascontiguousarray(x[:, 0] if c == 1 else x)
    for _ in range(int(steps)):
        x = mat @ x
    return np.ascontiguousarray(x.reshape(h * w, c).T).reshape(c, h, w)


def _bilinear_taps(size_in: int, stride: int,
                   size_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of bilinear upsampling by ``stride`` with
    ``align_corners=False`` (PyTorch's ``F.interpolate(scale_factor=...)``)
    for the first ``size_out`` output samples."""
    src = np.maximum((np.arange(size_out) + 0.5) / stride - 0.5, 0.0)
    lo = np.minimum(src.astype(np.int64), size_in - 1)
    hi = np.minimum(lo + 1, size_in - 1)
    return lo, hi, src - lo


def upsample_bilinear(maps: np.ndarray, stride: int,
                      size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """``(C, h, w)`` upsampled by ``stride`` as PyTorch's
    ``F.interpolate(maps, scale_factor=stride, mode='bilinear',
    align_corners=False)``, cropped to ``size`` (default ``(h * stride,
    w * stride)``), as IRN's ``rw_up``."""
    c, h, w = maps.shape
    oh, ow = size if size is not None else (h * stride, w * stride)
    y0, y1, wy = _bilinear_taps(h, stride, oh)
    x0, x1, wx = _bilinear_taps(w, stride, ow)
    rows = maps[:, y0] * (1 - wy)[:, None] + maps[:, y1] * wy[:, None]
    return rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx


def strided_size(size: Tuple[int, int], stride: int = 4) -> Tuple[int, int]:
    """IRN's map size at ``stride`` for an image of ``size``:
    ``((H - 1) // stride + 1, (W - 1) // stride + 1)``."""
    return (size[0] - 1) // stride + 1, (size[1] - 1) // stride + 1


def pool_to_stride(maps: np.ndarray, stride: int = 4,
                   mode: str = 'mean') -> np.ndarray:
    """Image-size maps ``(..., H, W)`` at ``stride``: the mean (or max) of
    every ``stride x stride`` block, the image padded at the bottom / right
    by edge replication, giving :func:`strided_size` ``((H, W), stride)``.

    Strided pixel ``i`` covers image pixels ``[stride i, stride (i + 1))``,
    centred on ``stride i + (stride - 1) / 2``, where
    :func:`upsample_bilinear` puts it back. ``'max'`` keeps a thin
    structure (a one-pixel boundary) at full strength, ``'mean'`` suits
    smooth maps (CAMs).
    """
    if int(stride) != stride or stride < 1:
        raise ValueError(f'stride {stride} must be a positive integer')
    if mode not in ('mean', 'max'):
        raise ValueError(f"mode {mode!r} not in ('mean', 'max')")
    maps = np.asarray(maps)
    h, w = maps.shape[-2:]
    sh, sw = strided_size((h, w), stride)
    pad = [(0, 0)] * (maps.ndim - 2) + [(0, sh * stride - h),
                                        (0, sw * stride - w)]
    blocks = np.pad(maps, pad, mode='edge').reshape(
        *maps.shape[:-2], sh, stride, sw, stride)
    return (blocks.mean((-3, -1)) if mode == 'mean' else
            blocks.max((-3, -1)))


def random_walk(cams: np.ndarray, boundary: np.ndarray, beta: float = 5.0,
                radius: int = 5, steps: int = 256, stride: int = 4,
                image_size: Optional[Tuple[int, int]] = None,
                bg_score: float = 0.25, return_labels: bool = False,
                dtype: Union[type, np.dtype] = np.float64
                ) -> Union[np.ndarray, ArrayPair]:
    """BES §3.1 / IRN's semantic labels: walk, upsample, normalise, add the
    background score.

    ``cams`` ``(C, h, w)``: the foreground classes' localization maps
    (IRN: the image's classes, each divided by its maximum) at the
    resolution ``(h, w)`` of ``boundary``, which is the image's at
    ``stride`` (:func:`strided_size`). Steps:

    1. :func:`propagate` (``steps`` = 2^8 walk steps of eq. 5's
       affinities, ``beta`` = 5 as BES, ``radius`` = gamma = 5);
    2. bilinear upsampling by ``stride`` (``align_corners=False``) and crop
       to ``image_size`` (default ``(h * stride, w * stride)``);
    3. division by the global maximum over all classes and pixels (IRN's
       ``rw_up / max(rw_up)``; skipped when that maximum is 0), so the
       strongest class peaks at 1;
    4. a constant background plane ``bg_score`` (IRN's 0.25) in front.

    Returns the scores ``(C + 1, H, W)`` (plane 0 the background, plane
    ``c + 1`` class ``cams[c]``) and, with ``return_labels``, also their
    arg-max ``(H, W)`` (ties to the lower plane: background at exactly
    ``bg_score``, as ``torch.argmax``).
    """
    if int(stride) != stride or stride < 1:
        raise ValueError(f'stride {stride} must be a positive integer')
    b = _check_boundary(boundary)
    h, w = b.shape
    if image_size is None:
        image_size = (h * stride, w * stride)
    elif strided_size(image_size, stride) != (h, w):
        raise ValueError(f'image size {tuple(image_size)} at stride {stride} '
                         f'is {strided_size(image_size, stride)}, the '
                         f'boundary map {b.shape}')
    walked = propagate(cams, b, beta, radius, steps, dtype)
    up = upsample_bilinear(walked, stride, tuple(image_size))
    peak = up.max(initial=0.0)
    if peak > 0:
        up /= peak
    scores = np.concatenate(
        [np.full((1, *up.shape[1:]), bg_score, dtype=up.dtype), up])
    if not return_labels:
        return scores
    labels = scores.argmax(0).astype(np.min_scalar_type(len(scores) - 1))
    return scores, labels
