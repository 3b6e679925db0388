from .formatting import PIXEL_FIELDS, PackWeakSegInputs
from .geometric import (WeakRandomCrop, WeakRandomFlip, WeakRandomRescale,
                        WeakResize)
from .loading import (ANNOTATIONS, PIXEL_MAPS, LoadCheckedImageFromFile,
                      LoadWeakAnnotations)
from .pseudo_labels import ScribbleSuperpixelPseudoMask

__all__ = [
    'ANNOTATIONS', 'PIXEL_FIELDS', 'PIXEL_MAPS', 'LoadCheckedImageFromFile',
    'LoadWeakAnnotations', 'PackWeakSegInputs', 'WeakRandomCrop',
    'ScribbleSuperpixelPseudoMask', 'WeakRandomFlip', 'WeakRandomRescale',
    'WeakResize'
]
