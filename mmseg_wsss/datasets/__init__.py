from .transforms import *  # noqa: F401,F403
from .validation import WeakAnnotationError, read_image
from .weak_seg_dataset import WEAK_MAP_PREFIXES, WeakSegDataset

__all__ = [
    'WEAK_MAP_PREFIXES', 'WeakAnnotationError', 'WeakSegDataset', 'read_image'
]
