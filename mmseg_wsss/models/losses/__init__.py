from .baseline_losses import SECSeedExpandLoss, SizeLoss
from .proportion_losses import keypoint_bce_loss, masked_gap, proportion_loss
from .weighted_cross_entropy import WeightedCrossEntropyLoss

__all__ = [
    'SECSeedExpandLoss', 'SizeLoss', 'keypoint_bce_loss', 'masked_gap',
    'proportion_loss', 'WeightedCrossEntropyLoss'
]
