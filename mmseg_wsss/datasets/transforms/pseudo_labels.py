"""Online pseudo labels computed in the data pipeline."""
from typing import Optional

import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_wsss.algorithms.superpixels import pseudo_mask_from_scribbles
from ..validation import WeakAnnotationError


@TRANSFORMS.register_module()
class ScribbleSuperpixelPseudoMask(BaseTransform):
    """Pseudo-mask from scribbles + SLICO superpixels (Centroid Loss paper,
    §IV-A): every pixel of a superpixel touched by one class's scribbles
    takes that class; a superpixel touched by several classes is ignored
    except for its scribble pixels (see :func:`~mmseg_wsss.algorithms.
    superpixels.scribble_pseudo_mask`).

    Put it right after ``LoadWeakAnnotations(['scribble', ...])``, before
    any geometric transform, so that superpixels are computed on the image
    as annotated. Adds ``gt_pseudo_map`` (to ``seg_fields``). The offline
    equivalent is ``tools/dataset/make_pseudo_masks.py``.

    Args:
        n_segments (int): Superpixels requested (the paper: 30, 50, 80).
        num_classes (int, optional): Default: the sample's ``num_classes``
            (set by :class:`WeakSegDataset`).
        ignore_index (int): Defaults to 255.
    """

    def __init__(self, n_segments: int = 50,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255) -> None:
        self.n_segments = n_segments
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes is None:
            raise WeakAnnotationError(
                results.get('img_path', '?'), results.get('sample_key', '?'),
                'the class count is unknown: use WeakSegDataset or give '
                'ScribbleSuperpixelPseudoMask num_classes=...')
        rgb = mmcv.bgr2rgb(results['img'])
        results['gt_pseudo_map'] = pseudo_mask_from_scribbles(
            rgb, results['gt_scribble_map'], self.n_segments, num_classes,
            self.ignore_index)
        if 'gt_pseudo_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_pseudo_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(n_segments={self.n_segments})'
