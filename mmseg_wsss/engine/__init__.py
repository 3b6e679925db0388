from .hooks import (PseudoLabelRefreshHook, SupervisionQualityHook,
                    predict_pseudo_labels)

__all__ = [
    'PseudoLabelRefreshHook', 'SupervisionQualityHook',
    'predict_pseudo_labels'
]
