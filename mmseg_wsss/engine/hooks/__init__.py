from .pseudo_label_refresh_hook import (PseudoLabelRefreshHook,
                                        predict_pseudo_labels)
from .supervision_quality_hook import SupervisionQualityHook

__all__ = [
    'PseudoLabelRefreshHook', 'SupervisionQualityHook',
    'predict_pseudo_labels'
]
