from .hooks import (DatasetCheckHook, PseudoLabelRefreshHook,
                    SupervisionQualityHook)
from .loops import WSSSIterBasedTrainLoop
from .model_wrappers import WSSSDistributedDataParallel
from .optim_wrappers import BF16OptimWrapper, bf16_is_fast
from .runner import WSSSRunner, init_cpu_dist

__all__ = [
    'BF16OptimWrapper', 'DatasetCheckHook', 'PseudoLabelRefreshHook',
    'SupervisionQualityHook', 'WSSSDistributedDataParallel',
    'WSSSIterBasedTrainLoop', 'WSSSRunner', 'bf16_is_fast', 'init_cpu_dist'
]
