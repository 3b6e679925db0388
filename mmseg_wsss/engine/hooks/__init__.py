from .dataset_check_hook import DatasetCheckHook
from .pseudo_label_refresh_hook import PseudoLabelRefreshHook
from .supervision_quality_hook import SupervisionQualityHook

__all__ = [
    'DatasetCheckHook', 'PseudoLabelRefreshHook', 'SupervisionQualityHook'
]
