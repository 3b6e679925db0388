from .weak_losses import (BalancedSeedLoss, CentroidLoss, CentroidMSELoss,
                          ConstrainLoss, KeypointBCELoss, ProportionLoss,
                          RelaxedBoundaryLoss, SECSeedExpandLoss, SeedLoss,
                          SizeLoss, WeakLoss)
from .weighted_cross_entropy import WeightedCrossEntropyLoss

__all__ = [
    'BalancedSeedLoss', 'CentroidLoss', 'CentroidMSELoss', 'ConstrainLoss',
    'KeypointBCELoss', 'ProportionLoss', 'RelaxedBoundaryLoss',
    'SECSeedExpandLoss', 'SeedLoss',
    'SizeLoss', 'WeakLoss', 'WeightedCrossEntropyLoss'
]
