from .hooks import (DatasetCheckHook, PseudoLabelRefreshHook,
                    SupervisionQualityHook)
from .loops import WSSSIterBasedTrainLoop
from .model_wrappers import WSSSDistributedDataParallel
from .runner import WSSSRunner, init_cpu_dist

__all__ = [
    'DatasetCheckHook', 'PseudoLabelRefreshHook', 'SupervisionQualityHook',
    'WSSSDistributedDataParallel', 'WSSSIterBasedTrainLoop', 'WSSSRunner',
    'init_cpu_dist'
]
