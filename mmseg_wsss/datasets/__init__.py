from .annotations import (ANNOTATIONS, AnnotationKind, get_annotation,
                          register_annotation)
from .transforms import *  # noqa: F401,F403
from .validation import WeakAnnotationError, read_image
from .weak_seg_dataset import WeakSegDataset

__all__ = [
    'ANNOTATIONS', 'AnnotationKind', 'WeakAnnotationError', 'WeakSegDataset',
    'get_annotation', 'read_image', 'register_annotation'
]
