"""The instance CRF of weakly- and semi-supervised panoptic segmentation.

Li, Arnab and Torr, "Weakly- and Semi-Supervised Panoptic Segmentation",
ECCV 2018 (003_92e9ad3e958c7c40, §3.5), after Arnab and Torr, "Pixelwise
Instance Segmentation with a Dynamically Instantiated Network", CVPR 2017.
Each pixel ``i`` takes one of ``D`` instance labels, one per detection
``(l_k, s_k, B_k)``, with the energy of eq. (2)

    ``E(x) = -sum_i ln(w1 psi_Box(x_i) + w2 psi_Global(x_i) + eps)
             + sum_{i<j} psi_Pairwise(x_i, x_j)``,

``psi_Box(X_i = k) = s_k Q_i(l_k)`` inside ``B_k``, else 0 (eq. 3), and
``psi_Global(X_i = k) = Q_i(l_k)`` (eq. 4), ``Q`` the ``(C, H, W)``
semantic probabilities. Every "stuff" class gets a dummy detection covering
the whole image with score 1 (:func:`add_stuff_detections`).

The pairwise term is a Potts model, ``psi = k(f_i, f_j) [x_i != x_j]``,
with the kernel of Krähenbühl and Koltun (2011)

    ``k = w_s exp(-|p_i - p_j|^2 / 2 theta_gamma^2)
        + w_b exp(-|p_i - p_j|^2 / 2 theta_alpha^2
                  - |I_i - I_j|^2 / 2 theta_beta^2)``

(``p`` pixel coordinates, ``I`` RGB 0-255), at the reference code's
values (``models/din.prototxt``: spatial weight 3, ``theta_gamma`` 3,
bilateral weight 4, ``theta_alpha`` 49, ``theta_beta`` 5, 3 mean-field
iterations). Kernel values are not normalised (the reference's
permutohedral lattice divides by a per-pixel norm; here the messages are
exactly those of the energy above). Mean field (:func:`mean_field`) uses
the kernel truncated to a ``(2r + 1)^2`` window around each pixel, as
ConvCRF (Teichmann and Cipolla, 2019); :func:`dense_pairwise_messages` is
the exact, all-pairs message for tiny images. The instance loss matches
ground-truth instances to the prediction first (:func:`match_instances`).

Plain numpy / scipy; the differentiable version is
``mmseg_wsss.models.decode_heads.InstanceCRFHead``.
"""
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.optimize import linear_sum_assignment

from .box_labels import box_masks


class Detections(NamedTuple):
    """``D`` detections: ``labels`` ``(D,)`` int64 classes, ``scores``
    ``(D,)`` float64 in ``[0, 1]``, ``boxes`` ``(D, 4)`` float64 ``x1, y1,
    x2, y2`` in pixels."""
    labels: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray


class KernelParams(NamedTuple):
    """Weights and bandwidths of the Potts kernel (defaults: the reference
    code's)."""
    w_spatial: float = 3.0
    theta_gamma: float = 3.0
    w_bilateral: float = 4.0
    theta_alpha: float = 49.0
    theta_beta: float = 5.0


class InstanceMatch(NamedTuple):
    """Matched pairs: ground-truth instance ``gt_ids[m]`` is predicted
    instance ``pred_ids[m]`` with intersection over union ``ious[m] > 0``.
    """
    gt_ids: np.ndarray
    pred_ids: np.ndarray
    ious: np.ndarray


def add_stuff_detections(labels: np.ndarray, scores: np.ndarray,
                         boxes: np.ndarray, stuff_classes: Sequence[int],
                         image_hw: Tuple[int, int]) -> Detections:
    """§3.5: the detections followed by one dummy per stuff class, box
    ``(0, 0, W, H)`` (the whole image) and score 1."""
    stuff = np.asarray(stuff_classes, dtype=np.float64).reshape(-1)
    if (not np.isfinite(stuff).all() or (stuff != np.round(stuff)).any()
            or (stuff < 0).any() or len(np.unique(stuff)) != len(stuff)):
        raise ValueError('stuff_classes must be distinct non-negative '
                         f'integers, got {list(stuff_classes)}')
    h, w = image_hw
    return Detections(
        np.concatenate([np.asarray(labels, dtype=np.int64).reshape(-1),
                        stuff.astype(np.int64)]),
        np.concatenate([np.asarray(scores, dtype=np.float64).reshape(-1),
                        np.ones(len(stuff))]),
        np.concatenate([np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
                        np.tile([0.0, 0.0, w, h], (len(stuff), 1))]))


def check_detections(labels: np.ndarray, scores: np.ndarray,
                     boxes: np.ndarray, num_classes: int,
                     image_hw: Tuple[int, int]) -> Detections:
    """Validated detections, boxes clipped to the image ``[0, W] x [0,
    H]`` (clipping changes no pixel's membership, see :func:`~.box_labels.box_masks`).

    Raises ``ValueError`` for mismatched shapes, labels that are not
    integers in ``[0, num_classes)``, scores that are not finite or lie
    outside ``[0, 1]``, non-finite or inverted (``x2 < x1`` or ``y2 <
    y1``) boxes and boxes entirely outside the image (``x2 <= 0``, ``y2 <=
    0``, ``x1 >= W`` or ``y1 >= H``). Zero detections are valid. A box
    holding no pixel centre keeps its global term (eq. 4) only.
    """
    lab = np.asarray(labels, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    bx = np.asarray(boxes, dtype=np.float64)
    if bx.size == 0:
        bx = bx.reshape(0, 4)
    if (lab.ndim != 1 or sc.shape != lab.shape
            or bx.shape != (len(lab), 4)):
        raise ValueError('detections need labels (D,), scores (D,) and '
                         f'boxes (D, 4), got {lab.shape}, {sc.shape} and '
                         f'{bx.shape}')
    bad = ~np.isfinite(lab) | (lab != np.round(lab)) | (lab < 0) | (
        lab >= num_classes)
    if bad.any():
        raise ValueError(f'detection labels {lab[bad].tolist()} are not '
                         f'classes in [0, {num_classes})')
    bad = ~(np.isfinite(sc) & (sc >= 0) & (sc <= 1))
    if bad.any():
        raise ValueError(f'detection scores {sc[bad].tolist()} are not in '
                         '[0, 1]')
    h, w = image_hw
    x1, y1, x2, y2 = bx.T
    bad = ~np.isfinite(bx).all(1) | (x2 < x1) | (y2 < y1)
    if bad.any():
        raise ValueError(f'detection boxes {bx[bad].tolist()} are not '
                         'finite boxes x1 <= x2, y1 <= y2')
    bad = (x2 <= 0) | (y2 <= 0) | (x1 >= w) | (y1 >= h)
    if bad.any():
        raise ValueError(f'detection boxes {bx[bad].tolist()} lie outside '
                         f'the {h}x{w} image')
    clipped = np.clip(bx, 0, [w, h, w, h])
    return Detections(lab.astype(np.int64), sc, clipped)


def instance_unaries(probs: np.ndarray, labels: np.ndarray,
                     scores: np.ndarray, boxes: np.ndarray, w1: float = 1.0,
                     w2: float = 1.0, eps: float = 1e-6) -> np.ndarray:
    """Unary energies ``-ln(w1 psi_Box + w2 psi_Global + eps)`` of eq. (2)
    with the box (eq. 3) and global (eq. 4) terms.

    ``probs`` ``Q`` ``(C, H, W)``; the detections go through
    :func:`check_detections` (add the stuff dummies first). Needs ``w1,
    w2 >= 0``, ``eps >= 0`` and one detection or more. Returns ``(D, H,
    W)`` float64 (``inf`` where the argument of the log is 0).
    """
    q = np.asarray(probs, dtype=np.float64)
    if q.ndim != 3 or not np.isfinite(q).all():
        raise ValueError(f'probs must be a finite (C, H, W) array, got '
                         f'{q.shape}')
    if not (w1 >= 0 and w2 >= 0 and eps >= 0):
        raise ValueError(f'w1 {w1}, w2 {w2} and eps {eps} must be >= 0')
    dets = check_detections(labels, scores, boxes, q.shape[0], q.shape[1:])
    if not len(dets.labels):
        raise ValueError('the instance CRF needs one detection or more '
                         '(give stuff classes or detections)')
    q_det = q[dets.labels]  # Q_i(l_k), psi_Global (eq. 4)
    box = dets.scores[:, None, None] * q_det * box_masks(dets.boxes,
                                                         q.shape[1:])
    with np.errstate(divide='ignore'):
        return -np.log(w1 * box + w2 * q_det + eps)


def window_offsets(radius: int) -> np.ndarray:
    """``(O, 2)`` int64 offsets ``(dy, dx)`` of the ``(2r + 1)^2`` window
    without ``(0, 0)``, row by row."""
    if int(radius) != radius or radius < 1:
        raise ValueError(f'radius {radius} must be a positive integer')
    r = int(radius)
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = (dy != 0) | (dx != 0)
    return np.stack([dy[keep], dx[keep]], 1).astype(np.int64)


def _check_image(img: np.ndarray,
                 hw: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """``img`` as float64, checked to be ``(H, W, 3)`` (of size ``hw``
    when given)."""
    im = np.asarray(img, dtype=np.float64)
    if im.shape != (*(im.shape[:2] if hw is None else hw), 3):
        raise ValueError(f'img {im.shape} must be (H, W, 3) with (H, W) = '
                         f'{tuple(hw)}')
    return im


def _kernel(d_pos: Union[float, np.ndarray], d_rgb: np.ndarray,
            kernel: KernelParams) -> np.ndarray:
    """The Potts kernel from squared position and colour distances."""
    return (kernel.w_spatial * np.exp(-d_pos / (2 * kernel.theta_gamma**2))
            + kernel.w_bilateral * np.exp(
                -d_pos / (2 * kernel.theta_alpha**2)
                - d_rgb / (2 * kernel.theta_beta**2)))


def dense_kernel(img: np.ndarray,
                 kernel: KernelParams = KernelParams()) -> np.ndarray:
    """``(N, N)`` Potts kernel ``k(f_i, f_j)`` of eq. (2)'s pairwise term
    between all ``N = H W`` pixels (raster order), 0 on the diagonal.
    ``img`` ``(H, W, 3)`` RGB 0-255. Memory ``O(N^2)``: tiny images only.
    """
    im = _check_image(img)
    h, w = im.shape[:2]
    im = im.reshape(-1, 3)
    ys, xs = np.divmod(np.arange(h * w), w)
    pos = np.stack([ys, xs], 1).astype(np.float64)
    d_pos = ((pos[:, None] - pos[None]) ** 2).sum(-1)
    d_rgb = ((im[:, None] - im[None]) ** 2).sum(-1)
    k = _kernel(d_pos, d_rgb, kernel)
    np.fill_diagonal(k, 0.0)
    return k


def dense_pairwise_messages(probs: np.ndarray, img: np.ndarray,
                            kernel: KernelParams = KernelParams()
                            ) -> np.ndarray:
    """Exact mean-field message ``M_i(l) = sum_{j != i} k(f_i, f_j)
    Q_j(l)`` over all pixel pairs (:func:`dense_kernel`); ``probs``
    ``(D, H, W)``. The reference for :func:`local_pairwise_messages`."""
    q = np.asarray(probs, dtype=np.float64)
    k = dense_kernel(_check_image(img, q.shape[1:]), kernel)
    return (q.reshape(len(q), -1) @ k).reshape(q.shape)


def local_kernel_weights(img: np.ndarray, radius: int,
                         kernel: KernelParams = KernelParams(),
                         normalize: bool = False) -> np.ndarray:
    """``(O, H, W)``: ``k(f_i, f_{i + o})`` for each offset ``o`` of
    :func:`window_offsets` ``(radius)``, 0 where ``i + o`` lies outside
    the image. One shifted slice of the padded image per offset.

    ``normalize``: each of the two kernels divided by its sum over the
    window of pixel ``i``, the pixel itself included (kernel value 1),
    before weighting: ``w_s k_s / (1 + sum_j k_s) + w_b k_b / (1 + sum_j
    k_b)``, the per-pixel normalisation of CRF-as-RNN's filters, which the
    reference network uses. Messages stay below ``w_s + w_b``, so the
    marginals do not saturate and the instance loss keeps its gradient.
    Off: eq. (2)'s kernel exactly."""
    im = _check_image(img)
    h, w = im.shape[:2]
    offsets = window_offsets(radius)
    r = int(radius)
    padded = np.pad(im, ((r, r), (r, r), (0, 0)))
    inside = np.pad(np.ones((h, w)), r)
    spatial = np.empty((len(offsets), h, w))
    bilateral = np.empty((len(offsets), h, w))
    k = kernel
    for o, (dy, dx) in enumerate(offsets):
        d_pos = float(dy * dy + dx * dx)
        d_rgb = ((padded[r + dy:r + dy + h, r + dx:r + dx + w] - im) ** 2
                 ).sum(-1)
        mask = inside[r + dy:r + dy + h, r + dx:r + dx + w]
        spatial[o] = np.exp(-d_pos / (2 * k.theta_gamma**2)) * mask
        bilateral[o] = np.exp(-d_pos / (2 * k.theta_alpha**2)
                              - d_rgb / (2 * k.theta_beta**2)) * mask
    if normalize:
        spatial /= 1 + spatial.sum(0)
        bilateral /= 1 + bilateral.sum(0)
    return k.w_spatial * spatial + k.w_bilateral * bilateral


def _window_messages(weights: np.ndarray, probs: np.ndarray,
                     radius: int) -> np.ndarray:
    """``M_i(l) = sum_o weights[o, i] Q_{i + o}(l)``, zero padding."""
    d, h, w = probs.shape
    r = int(radius)
    padded = np.pad(probs, ((0, 0), (r, r), (r, r)))
    out = np.zeros((d, h, w))
    for o, (dy, dx) in enumerate(window_offsets(r)):
        out += weights[o] * padded[:, r + dy:r + dy + h, r + dx:r + dx + w]
    return out


def local_pairwise_messages(probs: np.ndarray, img: np.ndarray,
                            radius: int = 3,
                            kernel: KernelParams = KernelParams()
                            ) -> np.ndarray:
    """:func:`dense_pairwise_messages` with the kernel truncated to the
    ``(2 radius + 1)^2`` window around each pixel (ConvCRF): ``M_i(l) =
    sum_{o != 0, |o|_inf <= r} k(f_i, f_{i + o}) Q_{i + o}(l)``. Equal to
    the dense message when ``radius >= max(H, W) - 1``."""
    q = np.asarray(probs, dtype=np.float64)
    return _window_messages(
        local_kernel_weights(_check_image(img, q.shape[1:]), radius, kernel),
        q, radius)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


def mean_field(unaries: np.ndarray, img: np.ndarray, iters: int = 3,
               radius: int = 3,
               kernel: KernelParams = KernelParams(),
               normalize: bool = False) -> np.ndarray:
    """Mean-field marginals ``Q_inst`` ``(D, H, W)`` of eq. (2).

    Parallel updates from ``Q^0 = softmax(-U)``: ``Q^{t+1}_i(k) propto
    exp(-U_i(k) + M_i(k))`` with the Potts message ``M`` of
    :func:`local_pairwise_messages` (``sum_{k' != k}`` of the Potts
    energy equals ``sum_j k_ij - M_i(k)``, constant over ``k`` except
    ``-M``). ``unaries`` from :func:`instance_unaries`, finite.
    ``normalize``: the normalised kernels of :func:`local_kernel_weights`
    (the reference network's; off: eq. 2 exactly).
    """
    if int(iters) != iters or iters < 0:
        raise ValueError(f'iters {iters} must be an integer >= 0')
    u = np.asarray(unaries, dtype=np.float64)
    if u.ndim != 3 or not len(u) or not np.isfinite(u).all():
        raise ValueError(f'unaries must be a finite (D, H, W) array, D >= '
                         f'1, got {u.shape}')
    weights = local_kernel_weights(_check_image(img, u.shape[1:]), radius,
                                   kernel, normalize)
    q = _softmax(-u)
    for _ in range(iters):
        q = _softmax(-u + _window_messages(weights, q, radius))
    return q


def instance_map(marginals: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The MAP labelling of §3.5: ``(H, W)`` int64 instance ids (arg-max
    of ``marginals`` ``(D, H, W)``, ties to the lowest id) and each
    pixel's class, ``labels[id]`` (``labels`` ``(D,)``, the detections')."""
    m = np.asarray(marginals)
    lab = np.asarray(labels, dtype=np.int64)
    if m.ndim != 3 or len(m) != len(lab) or not len(lab):
        raise ValueError(f'marginals {m.shape} must be (D, H, W) with D = '
                         f'{len(lab)} >= 1 labels')
    ids = m.argmax(0)
    return ids, lab[ids]


def match_instances(pred_inst: np.ndarray, gt_inst: np.ndarray,
                    ignore_index: int = 255) -> InstanceMatch:
    """Match ground-truth to predicted instances (the loss of §3.5, after
    Arnab and Torr 2017): the one-to-one assignment maximising the sum of
    intersection-over-union (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``).

    ``pred_inst`` and ``gt_inst`` are ``(H, W)`` integer id maps; pixels
    where ``gt_inst == ignore_index`` count for neither. Pairs with IoU 0
    are dropped: a ground-truth instance left unmatched (more ground-truth
    than predicted instances, or no overlap) gets no predicted id, and the
    loss ignores its pixels (:func:`matched_targets`).
    """
    pred = np.asarray(pred_inst)
    gt = np.asarray(gt_inst)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'pred_inst {pred.shape} and gt_inst {gt.shape} '
                         'must be (H, W) maps of one shape')
    valid = gt != ignore_index
    gt_ids, g = np.unique(gt[valid], return_inverse=True)
    pred_ids, p = np.unique(pred[valid], return_inverse=True)
    inter = np.bincount(g * len(pred_ids) + p,
                        minlength=len(gt_ids) * len(pred_ids)).reshape(
                            len(gt_ids), len(pred_ids))
    union = inter.sum(1)[:, None] + inter.sum(0)[None] - inter
    iou = inter / np.maximum(union, 1)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    keep = iou[rows, cols] > 0
    rows, cols = rows[keep], cols[keep]
    return InstanceMatch(gt_ids[rows].astype(np.int64),
                         pred_ids[cols].astype(np.int64), iou[rows, cols])


def matched_targets(gt_inst: np.ndarray, match: InstanceMatch,
                    fill: int = -1) -> np.ndarray:
    """``(H, W)`` int64 target of the instance loss: each matched
    ground-truth instance's pixels carry its predicted id; the pixels of
    unmatched and ignored ground truth carry ``fill``."""
    gt = np.asarray(gt_inst)
    ids, inverse = np.unique(gt, return_inverse=True)
    table = np.full(len(ids), fill, dtype=np.int64)
    table[np.searchsorted(ids, match.gt_ids)] = match.pred_ids
    return table[inverse.reshape(gt.shape)]
