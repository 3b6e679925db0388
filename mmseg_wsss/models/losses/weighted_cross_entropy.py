"""MMSeg's ``CrossEntropyLoss`` with ``class_weight`` on partially labelled
maps.

With ``class_weight`` and ``avg_non_ignore=True``, MMSeg 1.2.2's
``cross_entropy`` builds the weighted-mean denominator by indexing
``class_weight`` with every label, ``ignore_index`` included: any map with
an ignored pixel (every scribble, seed or pseudo-mask, every padded crop)
raises ``IndexError``. This subclass passes that denominator itself, the
sum of the class weights of the labelled pixels, so the loss is PyTorch's
class-weighted mean cross-entropy over the labelled pixels (the partial
cross-entropy, eq. 2 of 000_6542ad29b69e8cd0, with per-class weights).
"""
from typing import Optional

from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class WeightedCrossEntropyLoss(CrossEntropyLoss):
    """``CrossEntropyLoss(class_weight=[...], avg_non_ignore=True)`` that
    accepts ignored pixels; arguments as MMSeg's (softmax only)."""

    def __init__(self, class_weight: list, **kwargs) -> None:
        if kwargs.get('use_sigmoid') or kwargs.get('use_mask'):
            raise ValueError('WeightedCrossEntropyLoss is the softmax '
                             'cross-entropy; use_sigmoid/use_mask are not '
                             'supported')
        if not kwargs.pop('avg_non_ignore', True):
            raise ValueError('WeightedCrossEntropyLoss averages over the '
                             'labelled pixels: avg_non_ignore must be True')
        super().__init__(
            class_weight=class_weight, avg_non_ignore=True, **kwargs)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        if avg_factor is None and (reduction_override
                                   or self.reduction) == 'mean':
            class_weight = cls_score.new_tensor(self.class_weight)
            avg_factor = class_weight[label[label != ignore_index]].sum()
        return super().forward(cls_score, label, weight, avg_factor,
                               reduction_override, ignore_index, **kwargs)
