"""MMSeg-style losses (``loss_decode`` entries of any decode head) for the
baselines the Centroid Loss paper compares with (§V-E, eq. 12-13).

Each is called as MMSeg calls its losses: ``loss(seg_logits, seg_label,
weight=None, ignore_index=255)``, with ``seg_label`` the ``gt_sem_seg`` of
the batch (scribbles for these baselines). SEC's constrain term needs the
image and a dense CRF: it is ``WSSSEncoderDecoder(constrain_weight=...)``.
"""
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .functional import (expand_loss, scribble_size_bounds, seed_loss,
                         size_loss)


class _LabelLoss(nn.Module):
    """Common MMSeg loss plumbing: weight and name."""

    def __init__(self, loss_weight: float, loss_name: str) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class SizeLoss(_LabelLoss):
    """``λsize · L_C(V_S)`` of eq. (12) (Kervadec et al.), bounds from the
    scribbles (:func:`scribble_size_bounds`); the paper's λsize is 1e-3.
    Add it next to ``CrossEntropyLoss`` (pCE) in ``loss_decode``."""

    def __init__(self, loss_weight: float = 1e-3,
                 loss_name: str = 'loss_size') -> None:
        super().__init__(loss_weight, loss_name)

    def forward(self, seg_logits: Tensor, seg_label: Tensor, weight=None,
                ignore_index: int = 255, **kwargs) -> Tensor:
        bounds = scribble_size_bounds(seg_label, seg_logits.shape[1],
                                      ignore_index)
        return self.loss_weight * size_loss(seg_logits.softmax(1), bounds)


@MODELS.register_module()
class SECSeedExpandLoss(_LabelLoss):
    """SEC's seed + expand terms (eq. 13): the seed loss on the scribbles,
    the expand loss (global weighted rank pooling) on the image labels that
    the scribbles imply (classes with at least one scribble pixel)."""

    def __init__(self, loss_weight: float = 1.0, q_fg: float = 0.996,
                 q_bg: float = 0.999, bg_index: int = 0,
                 loss_name: str = 'loss_sec') -> None:
        super().__init__(loss_weight, loss_name)
        self.q_fg, self.q_bg, self.bg_index = q_fg, q_bg, bg_index

    def forward(self, seg_logits: Tensor, seg_label: Tensor, weight=None,
                ignore_index: int = 255, **kwargs) -> Tensor:
        probs = seg_logits.softmax(1)
        num_classes = probs.shape[1]
        bounds = scribble_size_bounds(seg_label, num_classes, ignore_index)
        image_labels = bounds[..., 0] > 0
        return self.loss_weight * (
            seed_loss(probs, seg_label, ignore_index) +
            expand_loss(probs, image_labels, self.q_fg, self.q_bg,
                        self.bg_index))
