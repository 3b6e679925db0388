"""The instance subnetwork of weakly- and semi-supervised panoptic
segmentation (003_92e9ad3e958c7c40, §3.5, eq. 2-4): an instance CRF over
the detections, unrolled mean field, trainable end to end."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from mmseg_wsss.algorithms.instance_crf import (KernelParams,
                                                add_stuff_detections,
                                                box_masks, check_detections,
                                                match_instances,
                                                matched_targets,
                                                window_offsets)

DetectionTensors = Tuple[Tensor, Tensor, Tensor]


@MODELS.register_module()
class InstanceCRFHead(nn.Module):
    """Partition semantic probabilities ``Q`` into instances with the
    detections as cues: unaries ``-ln(w1 psi_Box + w2 psi_Global + eps)``
    (eq. 2-4), Potts pairwise (Gaussian + bilateral kernels), ``iters``
    parallel mean-field updates ``Q_inst = softmax(-U + M)``, the message
    ``M`` over the ``(2 radius + 1)^2`` window around each pixel (ConvCRF):
    the computation of ``mmseg_wsss.algorithms.instance_crf.mean_field``
    (see that module), with shifted slices of the zero-padded marginals,
    one per offset, differentiable.

    ``w1`` and ``w2`` are learnable (initialised to 1, unconstrained, as
    the reference's Scale layers); the kernel parameters are fixed.
    Detections are not back-propagated through (Fig. 5's dashed lines).
    The loss matches ground-truth instances to the prediction first
    (Hungarian on IoU), then takes the cross-entropy.

    Args:
        iters (int): Mean-field iterations (reference: 3).
        radius (int): Half-width of the message window.
        eps (float): The ``eps`` of eq. (2).
        w_spatial, theta_gamma, w_bilateral, theta_alpha, theta_beta
            (float): Kernel weights and bandwidths (reference: 3, 3, 4,
            49, 5; positions in pixels, colours RGB 0-255).
        normalize (bool): Each kernel divided by its sum over the window
            (CRF-as-RNN's filter normalisation, as the reference network):
            bounded messages, unsaturated marginals, a usable gradient.
            False: eq. (2)'s kernel exactly (the marginals saturate).
        ignore_index (int): Ground-truth instance id the loss ignores.
    """

    def __init__(self,
                 iters: int = 3,
                 radius: int = 3,
                 eps: float = 1e-6,
                 w_spatial: float = 3.0,
                 theta_gamma: float = 3.0,
                 w_bilateral: float = 4.0,
                 theta_alpha: float = 49.0,
                 theta_beta: float = 5.0,
                 normalize: bool = True,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if int(iters) != iters or iters < 0:
            raise ValueError(f'iters {iters} must be an integer >= 0')
        self.offsets = window_offsets(radius).tolist()
        self.iters = int(iters)
        self.radius = int(radius)
        self.eps = eps
        self.kernel = KernelParams(w_spatial, theta_gamma, w_bilateral,
                                   theta_alpha, theta_beta)
        self.normalize = normalize
        self.ignore_index = ignore_index
        self.w1 = nn.Parameter(torch.tensor(1.0))
        self.w2 = nn.Parameter(torch.tensor(1.0))

    def forward(self, probs: Tensor, imgs: Tensor,
                detections: Sequence[DetectionTensors],
                stuff_classes: Sequence[int] = ()) -> List[Tensor]:
        """Instance marginals ``(D_n, H, W)`` of each image.

        ``probs`` ``(N, C, H, W)`` semantic probabilities, ``imgs`` ``(N,
        3, H, W)`` RGB 0-255, ``detections[n]`` the ``(labels, scores,
        boxes)`` of image ``n`` (boxes ``x1, y1, x2, y2`` pixels); each
        image's instances are its detections then one dummy per stuff
        class (whole image, score 1).
        """
        if probs.ndim != 4 or imgs.shape != (len(probs), 3,
                                             *probs.shape[2:]):
            raise ValueError(f'probs {tuple(probs.shape)} must be (N, C, '
                             f'H, W) and imgs {tuple(imgs.shape)} (N, 3, '
                             'H, W)')
        if len(detections) != len(probs):
            raise ValueError(f'{len(detections)} detection sets for '
                             f'{len(probs)} images')
        return [
            self.mean_field(self.unaries(q, dets, stuff_classes), img)
            for q, img, dets in zip(probs, imgs, detections)
        ]

    def unaries(self, probs: Tensor, detections: DetectionTensors,
                stuff_classes: Sequence[int] = ()) -> Tensor:
        """``(D, H, W)`` unary energies (eq. 2-4) of one image, ``probs``
        ``(C, H, W)``; detections validated and completed with the stuff
        dummies as in the numpy module."""
        hw = tuple(probs.shape[1:])
        labels, scores, boxes = (t.detach().cpu().numpy()
                                 for t in map(torch.as_tensor, detections))
        dets = add_stuff_detections(labels, scores, boxes, stuff_classes, hw)
        dets = check_detections(*dets, len(probs), hw)
        if not len(dets.labels):
            raise ValueError('the instance CRF needs one detection or more '
                             '(give stuff classes or detections)')
        mask = torch.from_numpy(box_masks(dets.boxes, hw)).to(
            probs.device, probs.dtype)
        scores = torch.as_tensor(dets.scores, dtype=probs.dtype,
                                 device=probs.device)[:, None, None]
        q_det = probs[torch.as_tensor(dets.labels, device=probs.device)]
        # w1 s_k Q_i(l_k) [i in B_k] + w2 Q_i(l_k) + eps
        return -torch.log(q_det * (self.w1 * scores * mask + self.w2)
                          + self.eps)

    def kernel_weights(self, img: Tensor) -> Tensor:
        """``(O, H, W)`` kernel values ``k(f_i, f_{i + o})`` for each
        window offset, 0 outside the image; ``img`` ``(3, H, W)``; with
        ``normalize`` each kernel divided by its window sum (the pixel
        itself counting 1) first (see
        :func:`~mmseg_wsss.algorithms.instance_crf.local_kernel_weights`).
        """
        k, r = self.kernel, self.radius
        _, h, w = img.shape
        scaled = img / (np.sqrt(2) * k.theta_beta)
        padded = F.pad(scaled, (r, r, r, r))
        inside = F.pad(img.new_ones(h, w), (r, r, r, r))
        spatial = img.new_empty(len(self.offsets), h, w)
        bilateral = img.new_empty(len(self.offsets), h, w)
        for m, (dy, dx) in enumerate(self.offsets):
            d_pos = float(dy * dy + dx * dx)
            mask = inside[r + dy:r + dy + h, r + dx:r + dx + w]
            diff = padded[:, r + dy:r + dy + h, r + dx:r + dx + w] - scaled
            bilateral[m] = torch.exp(-diff.square_().sum(0)).mul_(
                np.exp(-d_pos / (2 * k.theta_alpha**2))).mul_(mask)
            spatial[m] = mask * np.exp(-d_pos / (2 * k.theta_gamma**2))
        if self.normalize:  # the pixel itself counts 1 in the sums
            spatial /= 1 + spatial.sum(0)
            bilateral /= 1 + bilateral.sum(0)
        return spatial.mul_(k.w_spatial).add_(bilateral, alpha=k.w_bilateral)

    def messages(self, weights: Tensor, marginals: Tensor) -> Tensor:
        """``M_i(l) = sum_o weights[o, i] Q_{i + o}(l)`` (zero padding)."""
        r = self.radius
        _, h, w = marginals.shape
        padded = F.pad(marginals, (r, r, r, r))
        out = torch.zeros_like(marginals)
        for weight, (dy, dx) in zip(weights, self.offsets):
            out.addcmul_(weight,
                         padded[:, r + dy:r + dy + h, r + dx:r + dx + w])
        return out

    def mean_field(self, unaries: Tensor, img: Tensor) -> Tensor:
        """``(D, H, W)`` marginals after ``iters`` parallel updates from
        ``softmax(-U)``; ``img`` ``(3, H, W)``."""
        weights = self.kernel_weights(img.to(unaries.dtype).detach())
        q = torch.softmax(-unaries, 0)
        for _ in range(self.iters):
            q = torch.softmax(self.messages(weights, q) - unaries, 0)
        return q

    def loss(self, marginals: Sequence[Tensor],
             gt_inst_maps: Sequence[Tensor]) -> Tensor:
        """Cross-entropy of the marginals against the ground-truth
        instances matched to the predicted arg-max (Hungarian on IoU,
        ``match_instances``), mean over the pixels of matched instances;
        unmatched and ``ignore_index`` pixels are ignored. 0 (attached to
        the graph) when no pixel is matched."""
        if len(marginals) != len(gt_inst_maps):
            raise ValueError(f'{len(marginals)} predictions for '
                             f'{len(gt_inst_maps)} ground-truth maps')
        total, count = marginals[0].new_zeros(()), 0
        for m, gt in zip(marginals, gt_inst_maps):
            gt_np = torch.as_tensor(gt).detach().cpu().numpy()
            pred = m.detach().argmax(0).cpu().numpy()
            target = matched_targets(
                gt_np, match_instances(pred, gt_np, self.ignore_index))
            target = torch.as_tensor(target, device=m.device)
            log_m = torch.log(m.clamp_min(torch.finfo(m.dtype).tiny))
            total = total + F.nll_loss(log_m[None], target[None],
                                       ignore_index=-1, reduction='sum')
            count += int((target >= 0).sum())
        return total / max(count, 1)
