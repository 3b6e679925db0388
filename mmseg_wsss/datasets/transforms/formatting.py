"""Packing of weak annotations into ``SegDataSample`` fields."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ..validation import WeakAnnotationError
from .loading import PIXEL_MAPS

#: results key -> SegDataSample field for each pixel map
PIXEL_FIELDS = {
    'gt_seg_map': 'gt_full_sem_seg',
    'gt_scribble_map': 'gt_scribble',
    'gt_point_map': 'gt_points',
    'gt_pseudo_map': 'gt_pseudo_seg',
    'gt_inst_map': 'gt_inst_seg',
}


def _pixel_data(arr: np.ndarray) -> PixelData:
    return PixelData(data=torch.from_numpy(arr[None].astype(np.int64)))


@TRANSFORMS.register_module()
class PackWeakSegInputs(PackSegInputs):
    """``PackSegInputs`` that also packs every weak annotation.

    ``target`` names the annotation that becomes ``gt_sem_seg``, the map
    MMSeg's decode heads train on and ``IoUMetric`` scores: ``'scribble'``
    turns any MMSeg head with ``CrossEntropyLoss(ignore_index=255)`` into
    partial cross-entropy; ``'full'`` gives the fully-supervised baseline
    and evaluation. Every loaded map is also packed into its own field, the
    one the weakly-supervised methods read:

    ===================  =====================================
    SegDataSample field  content
    ===================  =====================================
    gt_sem_seg           the ``target`` map
    gt_full_sem_seg      full mask (when loaded)
    gt_scribble          scribbles
    gt_points            points
    gt_pseudo_seg        pseudo labels
    gt_inst_seg          instance ids
    gt_tags              (C,) multi-hot float tensor
    gt_proportions       (C,) float tensor
    gt_instances         ``InstanceData(bboxes, labels, instance_ids)``
    ===================  =====================================

    Args:
        target (str, optional): ``'full'``, ``'scribble'``, ``'points'``,
            ``'pseudo'`` or ``None`` (no ``gt_sem_seg``, e.g. tags only).
        meta_keys (Sequence[str]): As MMSeg's, plus ``sample_key``.
    """

    def __init__(self,
                 target: Optional[str] = 'full',
                 meta_keys: Sequence[str] = (
                     'img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                     'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                     'reduce_zero_label', 'sample_key')) -> None:
        super().__init__(meta_keys=meta_keys)
        if target is not None and (target not in PIXEL_MAPS
                                   or target == 'inst_map'):
            raise ValueError(f'target {target!r} is not a class map; choose '
                             'full, scribble, points, pseudo or None')
        self.target = target

    def transform(self, results: dict) -> dict:
        region = results.get('proportions_shape')
        if region is not None and tuple(region) != tuple(
                results['img'].shape[:2]):
            raise WeakAnnotationError(
                results.get('img_path', '?'), results.get('sample_key', '?'),
                f'the class proportions describe a {region[0]}x{region[1]} '
                f'image but the pipeline made it '
                f"{results['img'].shape[0]}x{results['img'].shape[1]} with a "
                'transform that does not keep proportions in step (e.g. '
                "MMSeg's RandomCrop or Resize); use WeakRandomCrop / "
                'WeakResize / WeakRandomRescale, or tile the dataset '
                '(tools/dataset/tile_dataset.py)')
        target_key = PIXEL_MAPS[self.target][1] if self.target else None
        if target_key is not None and target_key not in results:
            raise KeyError(
                f"target '{self.target}' is not loaded for sample "
                f"{results.get('sample_key')}: add it to LoadWeakAnnotations")
        base = {k: v for k, v in results.items() if k != 'gt_seg_map'}
        if target_key is not None:
            base['gt_seg_map'] = results[target_key]
        packed = super().transform(base)
        sample = packed['data_samples']
        for key, field in PIXEL_FIELDS.items():
            if key in results:
                sample.set_field(_pixel_data(results[key]), field)
        for key in ('gt_tags', 'gt_proportions'):
            if key in results:
                sample.set_field(torch.as_tensor(results[key]), key)
        if 'gt_bboxes' in results:
            sample.gt_instances = InstanceData(
                bboxes=torch.as_tensor(results['gt_bboxes']),
                labels=torch.as_tensor(results['gt_bboxes_labels']),
                instance_ids=torch.as_tensor(results['gt_instance_ids']))
        return packed
