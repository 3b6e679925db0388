"""Loss terms of semantic-proportion supervision (SPSS paper,
002_37db202babd11992, §2).

Shapes: class probabilities / log-probabilities ``(N, C, H, W)``, masks of
valid (non-padding) pixels ``(N, H, W)`` bool, proportions ``(N, C)``,
keypoint maps ``(N, H, W)`` long with ``ignore_index`` off the points.
"""
import torch
from torch import Tensor


def masked_gap(probs: Tensor, valid: Tensor) -> Tensor:
    """The GAP layer of Fig. 2: mean of each class map over the valid pixels
    of its image, i.e. the predicted proportions ``rho_i`` ``(N, C)``."""
    weights = valid.unsqueeze(1).to(probs.dtype)
    return (probs * weights).sum((2, 3)) / weights.sum((2, 3)).clamp_min(1)


def proportion_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Eq. (1): ``L_sp = 1/|Omega| sum_i ||rho*_i - rho_i||^2`` - the squared
    Euclidean norm over classes, averaged over the images of the batch."""
    return (target.to(pred.dtype) - pred).square().sum(1).mean()


def keypoint_bce_loss(log_probs: Tensor, points: Tensor,
                      ignore_index: int = 255) -> Tensor:
    """Eqs. (2)-(3): binary cross-entropy of class ``j``'s map at the
    keypoints ``Lambda^ij`` of class ``j`` (where ``Y*_ij = 1``, so ``f_ij =
    -log Y_ij``), averaged over each set ``Lambda^ij`` and summed over the
    classes ``Omega^i_sc`` with keypoints.

    Eq. (3) also sums over the images; here that sum is divided by the
    number of images with keypoints in the batch (as eq. (1) is), so that
    ``alpha`` in eq. (4) does not depend on the batch size. For a binary
    model with one sigmoid map, pass ``(log(1 - s), log(s))`` as the two
    classes (``F.logsigmoid(-x), F.logsigmoid(x)`` of the logit ``x``,
    which stay finite and differentiable where ``s`` saturates):
    background keypoints then give ``-log(1 - s)``, the ``Y* = 0`` case of
    eq. (2). 0 (with a graph) when the batch has no keypoint.
    Log-probabilities off the keypoints are never read, so a saturated
    ``-inf`` there (a sigmoid model's ``log(1 - s)`` at ``s = 1``) does not
    turn the loss into NaN.
    """
    n, num_classes = log_probs.shape[:2]
    labelled = (points != ignore_index) & (points >= 0) & \
        (points < num_classes)
    onehot = torch.zeros_like(log_probs, dtype=torch.bool)
    onehot.scatter_(1, torch.where(labelled, points, 0).unsqueeze(1),
                    labelled.unsqueeze(1))
    counts = onehot.sum((2, 3)).to(log_probs.dtype)  # |Lambda^ij|, (N, C)
    picked = torch.where(onehot, log_probs, log_probs.new_zeros(()))
    per_class = -picked.sum((2, 3)) / counts.clamp_min(1)
    per_image = per_class.sum(1)
    has_points = counts.sum(1) > 0
    return (per_image * has_points).sum() / has_points.sum().clamp_min(1)
