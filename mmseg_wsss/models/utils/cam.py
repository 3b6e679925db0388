"""Class activation maps for any network: CAM and Grad-CAM.

* CAM (Zhou et al., CVPR 2016; DSRG §3.1): the classifier of a GAP (or
  attention-pooling) network applied at every position of the feature map,
  ``M^c = sum_k w^c_k f_k`` (the classifier's bias left out, as Zhou et
  al. do), through a ReLU.
* Grad-CAM (Selvaraju et al., ICCV 2017, eqs. 1-2), the generic
  alternative for networks without such a classifier:
  ``L^c = ReLU(sum_k alpha^c_k A^k)`` with ``alpha^c_k`` the spatial mean
  of ``d y^c / d A^k``. For a 1x1 linear classifier pooled by GAP or by
  attention pooling (BES eqs. 6-7, whose gradient ``A_i (1 + k (M_i - s))``
  also averages to ``1 / (h w)``) it equals the CAM up to the positive
  factor ``1 / (h w)``.

Both give non-negative ``(N, C, h, w)`` maps; :func:`normalise_cams`
upsamples them to the image and divides each class by its maximum, eq. (8)
of BES (004_5070bdb16ae301dd, §3.2).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def cam_maps(features: Tensor, weight: Tensor) -> Tensor:
    """``ReLU(sum_k w^c_k f_k)``: ``features`` ``(N, K, h, w)``, classifier
    ``weight`` ``(C, K)`` or a 1x1 conv's ``(C, K, 1, 1)``."""
    return F.relu(F.conv2d(features, weight.reshape(*weight.shape[:2], 1, 1)))


def grad_cam(scores: Tensor, features: Tensor,
             classes: Optional[Sequence[int]] = None) -> Tensor:
    """Grad-CAM of ``scores`` ``(N, C)`` (pre-sigmoid/softmax class scores)
    w.r.t. ``features`` ``(N, K, h, w)``, a tensor of their graph (e.g.
    caught with a forward hook, or a detached copy with ``requires_grad``
    fed to the classifier).

    One backward pass per class of ``classes`` (default: all), batched
    over images: the images must not interact (BatchNorm in eval mode).
    Call under ``torch.enable_grad()`` when testing. Returns the detached
    ``(N, len(classes), h, w)`` maps; the graph is kept for the caller.
    """
    classes = range(scores.shape[1]) if classes is None else classes
    maps = []
    for c in classes:
        grad, = torch.autograd.grad(
            scores[:, c].sum(), features, retain_graph=True)
        alpha = grad.mean((2, 3), keepdim=True)
        maps.append(F.relu((alpha * features.detach()).sum(1)))
    return torch.stack(maps, 1)


def normalise_cams(cams: Tensor, size: Optional[Tuple[int, int]] = None,
                   align_corners: bool = False) -> Tensor:
    """Eq. (8) of BES, ``P^c = M^c / max_j M^c_j``, on non-negative maps
    ``(N, C, h, w)`` after bilinear upsampling to ``size`` (the image); an
    all-zero class map stays zero. Values in ``[0, 1]``."""
    if size is not None and tuple(cams.shape[-2:]) != tuple(size):
        cams = F.interpolate(cams, size=size, mode='bilinear',
                             align_corners=align_corners)
    peak = cams.amax((2, 3), keepdim=True)
    return cams / torch.where(peak > 0, peak, torch.ones_like(peak))
