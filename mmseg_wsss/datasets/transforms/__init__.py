from .formatting import PIXEL_FIELDS, PackWeakSegInputs
from .geometric import (WeakRandomCrop, WeakRandomFlip, WeakRandomRescale,
                        WeakResize)
from .loading import (ANNOTATIONS, PIXEL_MAPS, LoadCheckedImageFromFile,
                      LoadWeakAnnotations)

__all__ = [
    'ANNOTATIONS', 'PIXEL_FIELDS', 'PIXEL_MAPS', 'LoadCheckedImageFromFile',
    'LoadWeakAnnotations', 'PackWeakSegInputs', 'WeakRandomCrop',
    'WeakRandomFlip', 'WeakRandomRescale', 'WeakResize'
]
