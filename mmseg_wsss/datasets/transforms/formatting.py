"""Packing of weak annotations into ``SegDataSample`` fields."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ..annotations import ANNOTATIONS, PIXEL, get_annotation
from ..validation import WeakAnnotationError


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
        meta_keys (Sequence[str]): As MMSeg's, plus ``sample_key`` and
            ``num_classes``.
    """

    def __init__(self,
                 target: Optional[str] = 'full',
                 meta_keys: Sequence[str] = (
                     'img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                     'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                     'reduce_zero_label', 'sample_key', 'num_classes')
    ) -> None:
        super().__init__(meta_keys=meta_keys)
        if target is not None and (target not in ANNOTATIONS
                                   or not ANNOTATIONS[target].class_map):
            class_maps = [k for k, v in ANNOTATIONS.items() if v.class_map]
            raise ValueError(f'target {target!r} is not a class map; choose '
                             f'one of {class_maps} or None')
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
        target_key = (get_annotation(self.target).results_key
                      if self.target else None)
        if target_key is not None and target_key not in results:
            raise KeyError(
                f"target '{self.target}' is not loaded for sample "
                f"{results.get('sample_key')}: add it to LoadWeakAnnotations")
        base = {k: v for k, v in results.items() if k != 'gt_seg_map'}
        if target_key is not None:
            base['gt_seg_map'] = results[target_key]
        packed = super().transform(base)
        sample = packed['data_samples']
        for kind in ANNOTATIONS.values():
            if kind.results_key not in results:
                continue
            if kind.level == PIXEL:
                value = _pixel_data(results[kind.results_key])
            elif kind.pack is not None:
                value = kind.pack(results)
            else:
                value = torch.as_tensor(results[kind.results_key])
            sample.set_field(value, kind.field)
        return packed
