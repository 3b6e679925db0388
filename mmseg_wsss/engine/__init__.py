from .hooks import (PseudoLabelRefreshHook, SupervisionQualityHook,
                    predict_pseudo_labels)
from .model_wrappers import WSSSDistributedDataParallel
from .runner import WSSSRunner, init_cpu_dist

__all__ = [
    'PseudoLabelRefreshHook', 'SupervisionQualityHook',
    'predict_pseudo_labels', 'WSSSDistributedDataParallel', 'WSSSRunner',
    'init_cpu_dist'
]
