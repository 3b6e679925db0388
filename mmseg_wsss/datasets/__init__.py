from .transforms import *  # noqa: F401,F403
from .validation import WeakAnnotationError
from .weak_seg_dataset import WEAK_MAP_PREFIXES, WeakSegDataset

__all__ = ['WEAK_MAP_PREFIXES', 'WeakAnnotationError', 'WeakSegDataset']
