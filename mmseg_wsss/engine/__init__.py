from .hooks import PseudoLabelRefreshHook, SupervisionQualityHook
from .loops import WSSSIterBasedTrainLoop

__all__ = [
    'PseudoLabelRefreshHook', 'SupervisionQualityHook',
    'WSSSIterBasedTrainLoop'
]
