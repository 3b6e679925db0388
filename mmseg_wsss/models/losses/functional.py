"""Loss terms of the Centroid Loss paper and of the losses it compares with.

Equation numbers are those of the Centroid Loss paper (Section IV and
V-E): Centroid Loss (3)-(5), normalised MSE (6),
the size constraint of (12) (Kervadec et al., "Constrained-CNN losses for
weakly supervised segmentation") and SEC's seed / expand / constrain terms
of (13) (Kolesnikov & Lampert, "Seed, Expand and Constrain"). Partial
cross-entropy (2) is MMSeg's ``CrossEntropyLoss(avg_non_ignore=True)``.
:func:`balanced_seed_loss` is eq. (1) of DSRG (Huang et al., "Deep Seeded
Region Growing").

Shapes: logits / probs ``(N, C, H, W)``, features ``(N, M, H, W)``,
centroids ``(N, C, M)``, labels ``(N, H, W)`` long with ``ignore_index``
(255) on unlabelled pixels. Every loss is pure torch, differentiable and
finite: a term with nothing to average over (no labelled pixel, no class in
a set, an empty batch) is 0 and still carries a graph.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def _mean(values: Tensor, weights: Optional[Tensor] = None) -> Tensor:
    """Weighted mean of ``values`` (``weights`` 0/1 or None); 0 if empty."""
    if weights is None:
        return values.sum() / max(values.numel(), 1)
    weights = weights.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp_min(1)


def centroid_distances(features: Tensor, centroids: Tensor,
                       eps: float = 1e-6) -> Tensor:
    """Eq. (5): normalised squared distances ``d`` of shape ``(N, C, H, W)``.

    ``d[p, c] = (||f_p - mu_c||^2 + eps / C) / (sum_c' ||f_p - mu_c'||^2 +
    eps)``: each pixel's ``d`` sums to 1 and is uniform (1/C) when every
    distance is 0. Distances are computed directly (no ``|f|^2 - 2 f.mu +
    |mu|^2`` cancellation) without materialising ``(N, C, M, H, W)``.
    Computed in float32 at least (``cdist`` has no half-precision CPU
    kernel, and ``eps`` underflows in half), returned in the features'
    dtype, so mixed-precision training (``--amp``) works on CPU and GPU.
    """
    n, _, h, w = features.shape
    num_classes = centroids.shape[1]
    dtype = torch.promote_types(features.dtype, torch.float32)
    flat = features.flatten(2).transpose(1, 2).to(dtype)  # (N, HW, M)
    dist = torch.cdist(flat, centroids.to(dtype),
                       compute_mode='donot_use_mm_for_euclid_dist')
    sq = dist.square().transpose(1, 2).reshape(n, num_classes, h, w)
    d = (sq + eps / num_classes) / (sq.sum(1, keepdim=True) + eps)
    return d.to(features.dtype)


def centroid_loss(features: Tensor, centroids: Tensor,
                  scribble_labels: Tensor, ignore_index: int = 255,
                  eps: float = 1e-6) -> Tensor:
    """Eqs. (3)-(4): cross-entropy of ``softmax_c(-d)`` on scribble pixels,
    averaged over the labelled scribble pixels."""
    log_p = F.log_softmax(-centroid_distances(features, centroids, eps), 1)
    loss = F.nll_loss(log_p, scribble_labels, ignore_index=ignore_index,
                      reduction='sum')
    return loss / (scribble_labels != ignore_index).sum().clamp_min(1)


def centroid_mse_loss(features: Tensor, centroids: Tensor, probs: Tensor,
                      valid_mask: Optional[Tensor] = None,
                      eps: float = 1e-6) -> Tensor:
    """Eq. (6): mean over pixels of ``d[p, c(p)]``, ``c(p)`` the argmax of
    the segmentation output ``probs`` (probabilities or logits; no gradient
    flows through the argmax). ``valid_mask`` ``(N, H, W)`` excludes padding.
    """
    dist = centroid_distances(features, centroids, eps)
    pred = probs.argmax(1, keepdim=True)
    return _mean(dist.gather(1, pred).squeeze(1), valid_mask)


def scribble_size_bounds(labels: Tensor, num_classes: int,
                         ignore_index: int = 255,
                         valid_mask: Optional[Tensor] = None) -> Tensor:
    """Size bounds ``(N, C, 2)`` (pixels) for :func:`size_loss` from scribbles.

    For class ``c`` with ``s_c`` scribbled pixels in an image of ``A`` valid
    pixels: ``[s_c, A - sum_{c' != c} s_c']`` if ``s_c > 0`` (at least its
    scribbles, at most what the other classes' scribbles leave), else
    ``[0, 0]`` (a class without scribbles is taken as absent, as scribbles
    mark every class of the image).
    """
    n = labels.shape[0]
    flat = labels.reshape(n, -1)
    labelled = flat != ignore_index
    counts = torch.zeros(n, num_classes, device=labels.device).scatter_add_(
        1, torch.where(labelled, flat, 0).long(), labelled.float())
    area = (flat.new_full((n, ), flat.shape[1]).float() if valid_mask is None
            else valid_mask.reshape(n, -1).float().sum(1))
    others = counts.sum(1, keepdim=True) - counts
    upper = torch.where(counts > 0, area[:, None] - others,
                        torch.zeros_like(counts))
    return torch.stack([counts, upper], dim=-1)


def size_loss(probs: Tensor, bounds: Tensor,
              valid_mask: Optional[Tensor] = None) -> Tensor:
    """Size penalty ``L_C(V_S)`` of eq. (12) (Kervadec et al.).

    ``V[n, c] = sum_p probs[n, c, p]`` (over ``valid_mask`` pixels); with
    ``bounds[n, c] = [a, b]`` in pixels the penalty is ``(V - a)^2`` if
    ``V < a``, ``(V - b)^2`` if ``V > b``, else 0. As in Kervadec et al.'s
    code it is divided by the number of (valid) pixels of the image and
    averaged over images and classes; the caller applies ``lambda_size``
    (1e-3 in the paper). Bounds: :func:`scribble_size_bounds` or explicit.
    """
    if valid_mask is None:
        valid_mask = probs.new_ones(probs.shape[0], *probs.shape[2:])
    mask = valid_mask.to(probs.dtype).unsqueeze(1)
    volume = (probs * mask).sum((2, 3))
    bounds = bounds.to(probs.dtype)
    penalty = (F.relu(bounds[..., 0] - volume).square() +
               F.relu(volume - bounds[..., 1]).square())
    return _mean(penalty / mask.sum((1, 2, 3)).clamp_min(1)[:, None])


def seed_loss(probs: Tensor, seed_labels: Tensor, ignore_index: int = 255,
              min_prob: float = 1e-4) -> Tensor:
    """SEC seed loss (eq. 13): ``-log(p_c + min_prob)`` averaged over each
    image's seed pixels (here the scribbles), then over the images that have
    seeds, as SEC's balanced seed loss. ``min_prob`` plays the role of SEC's
    probability floor (finite log, gradient kept on saturated pixels)."""
    labelled = seed_labels != ignore_index
    index = torch.where(labelled, seed_labels, 0).unsqueeze(1)
    nll = -torch.log(probs.gather(1, index).squeeze(1) + min_prob)
    weights = labelled.to(probs.dtype).flatten(1)
    per_image = (nll.flatten(1) * weights).sum(1) / weights.sum(1).clamp_min(1)
    return _mean(per_image, weights.sum(1) > 0)


def balanced_seed_loss(probs: Tensor, seeds: Tensor, ignore_index: int = 255,
                       bg_index: int = 0, min_prob: float = 1e-4) -> Tensor:
    """Balanced seeding loss of DSRG (eq. 1).

    ``-1/sum_{c fg}|S_c| sum_{c fg} sum_{u in S_c} log H_{u,c}
    - 1/|S_bg| sum_{u in S_bg} log H_{u,bg}``: the foreground seeds (every
    class but ``bg_index``) and the background seeds are averaged
    separately, so the usually far more numerous background seeds do not
    dominate. Each term is :func:`seed_loss` on its seeds: normalised per
    image as in the authors' code, then averaged over the images that have
    such seeds (their code also averages in a 0 for the others), ``+
    min_prob`` in the log; a term without seeds in the batch is 0.
    """
    is_bg = seeds == bg_index
    ignored = torch.full_like(seeds, ignore_index)
    fg_seeds = torch.where(is_bg, ignored, seeds)
    bg_seeds = torch.where(is_bg, seeds, ignored)
    return (seed_loss(probs, fg_seeds, ignore_index, min_prob) +
            seed_loss(probs, bg_seeds, ignore_index, min_prob))


def expand_loss(probs: Tensor, image_labels: Tensor, q_fg: float = 0.996,
                q_bg: float = 0.999, bg_index: Optional[int] = 0,
                min_prob: float = 1e-4) -> Tensor:
    """SEC expand loss (eq. 13) with global weighted rank pooling (GWRP).

    ``G_c = sum_j q_c^j p_(j),c / sum_j q_c^j`` with ``p_(0),c >= p_(1),c >=
    ...`` the sorted scores of class ``c``; ``q_c = q_bg`` for ``bg_index``
    and ``q_fg`` otherwise. Per image (``image_labels`` ``(N, C)`` multi-hot):
    ``-mean_{present fg c} log G_c - mean_{absent c} log(1 - max_p p_c)
    - log G_bg`` (the last only if the background is present; SEC always has
    it, an absent background joins the absent classes). Each mean is 0 when
    its set is empty; the result is averaged over the batch. With
    ``bg_index=None`` every class is foreground. Logs take ``+ min_prob``.
    """
    n, num_classes = probs.shape[:2]
    ranked = probs.flatten(2).sort(dim=2, descending=True).values
    q = probs.new_full((num_classes, 1), q_fg)
    is_fg = torch.ones(num_classes, dtype=torch.bool, device=probs.device)
    if bg_index is not None:
        q[bg_index], is_fg[bg_index] = q_bg, False
    weights = q ** torch.arange(ranked.shape[2], device=probs.device)
    gwrp = (ranked * weights).sum(2) / weights.sum(1)
    present = image_labels.bool()
    pos = -torch.log(gwrp + min_prob)
    neg = -torch.log(1 - ranked[..., 0] + min_prob)

    def set_mean(values: Tensor, members: Tensor) -> Tensor:
        members = members.to(probs.dtype)
        return (values * members).sum(1) / members.sum(1).clamp_min(1)

    loss = set_mean(pos, present & is_fg) + set_mean(neg, ~present)
    if bg_index is not None:
        loss = loss + pos[:, bg_index] * present[:, bg_index]
    return _mean(loss)


def constrain_loss(probs: Tensor, crf_probs: Tensor,
                   min_prob: float = 1e-4) -> Tensor:
    """SEC constrain loss (eq. 13): mean over pixels of
    ``KL(Q || f) = sum_c Q_c log(Q_c / (f_c + min_prob))`` with ``Q`` the
    dense-CRF output of ``probs`` (treated as a constant)."""
    target = crf_probs.detach().to(probs.dtype)
    kl = torch.xlogy(target, target) - target * torch.log(probs + min_prob)
    return _mean(kl.sum(1))
