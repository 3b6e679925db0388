from .formatting import PackWeakSegInputs
from .geometric import (WeakRandomCrop, WeakRandomFlip, WeakRandomRescale,
                        WeakResize)
from .loading import LoadCheckedImageFromFile, LoadWeakAnnotations
from .pseudo_labels import ScribbleSuperpixelPseudoMask

__all__ = [
    'LoadCheckedImageFromFile', 'LoadWeakAnnotations', 'PackWeakSegInputs',
    'WeakRandomCrop', 'ScribbleSuperpixelPseudoMask', 'WeakRandomFlip',
    'WeakRandomRescale', 'WeakResize'
]
