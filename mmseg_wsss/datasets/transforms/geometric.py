"""Flip, resize and crop that keep every weak annotation aligned.

mmcv's ``RandomFlip`` and ``Resize`` only move ``gt_seg_map``; these move
every key in ``seg_fields`` (nearest-neighbour for maps) and the boxes.
MMSeg's ``RandomCrop`` already crops all ``seg_fields``; the crop here also
moves boxes and applies the rules for image-level annotations.
"""
from typing import Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import RandomFlip, Resize
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS

from mmseg_wsss.algorithms.weak_labels import class_proportions, image_tags
from ..annotations import ANNOTATIONS
from ..validation import WeakAnnotationError


def _seg_keys(results: dict) -> list:
    keys = list(results.get('seg_fields', []))
    if 'gt_seg_map' in results and 'gt_seg_map' not in keys:
        keys.append('gt_seg_map')
    return keys


@TRANSFORMS.register_module()
class WeakRandomFlip(RandomFlip):
    """``RandomFlip`` that flips every map in ``seg_fields`` as well.

    ``swap_seg_labels`` applies to the registry's class maps only (not to
    instance ids, nor to maps of unregistered keys).
    """

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        direction = results['flip_direction']
        class_maps = {k.results_key for k in ANNOTATIONS.values()
                      if k.class_map}
        for key in _seg_keys(results):
            if key == 'gt_seg_map':
                continue  # flipped by mmcv
            if key in class_maps:
                results[key] = self._flip_seg_map(
                    results[key], direction=direction)
            else:
                results[key] = mmcv.imflip(results[key], direction=direction)


@TRANSFORMS.register_module()
class WeakResize(Resize):
    """``Resize`` that resizes every map in ``seg_fields`` (nearest).

    Image-level tags and proportions are scale-invariant and kept. Use it in
    ``RandomResize(..., resize_type='WeakResize')`` too.
    """

    def transform(self, results: dict) -> dict:
        region = results.get('proportions_shape')
        same = region is not None and region == results['img'].shape[:2]
        results = super().transform(results)
        if same:  # still the whole region, rescaled
            results['proportions_shape'] = results['img'].shape[:2]
        return results

    def _resize_seg(self, results: dict) -> None:
        fn = mmcv.imrescale if self.keep_ratio else mmcv.imresize
        for key in _seg_keys(results):
            results[key] = fn(
                results[key],
                results['scale'],
                interpolation='nearest',
                backend=self.backend)


@TRANSFORMS.register_module()
class WeakRandomCrop(RandomCrop):
    """MMSeg's ``RandomCrop`` with rules for image-level annotations.

    * Pixel maps are cropped with the image; boxes are shifted, clipped to
      the crop and dropped when nothing of them is left.
    * ``tags='image'`` keeps image tags unchanged: they are declared
      image-level (a tagged class may lie outside the crop, as in
      ``RandomResizedCrop``-style training of classifiers).
      ``tags='recompute'`` derives them from the cropped full mask
      (``gt_seg_map``, classes covering >= ``tag_min_fraction``).
    * Class proportions are not crop-invariant. ``proportions='error'``
      (default) refuses to crop a sample that carries image-level
      proportions: make per-patch proportions with
      ``tools/dataset/tile_dataset.py`` and train on the tiles without random
      crops. ``proportions='recompute'`` derives them from the cropped full
      mask (simulating an annotator who labels each crop).

    Args:
        crop_size: As MMSeg's ``RandomCrop``.
        cat_max_ratio (float): Needs ``gt_seg_map``, as in MMSeg.
        tags (str): ``'image'`` or ``'recompute'``.
        proportions (str): ``'error'`` or ``'recompute'``.
        tag_min_fraction (float): Defaults to 1e-3 (as ``weak/tags.json``).
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 cat_max_ratio: float = 1.,
                 ignore_index: int = 255,
                 tags: str = 'image',
                 proportions: str = 'error',
                 tag_min_fraction: float = 1e-3) -> None:
        super().__init__(crop_size, cat_max_ratio, ignore_index)
        if tags not in ('image', 'recompute'):
            raise ValueError(f"tags must be 'image' or 'recompute', got "
                             f'{tags!r}')
        if proportions not in ('error', 'recompute'):
            raise ValueError("proportions must be 'error' or 'recompute', "
                             f'got {proportions!r}')
        self.tags = tags
        self.proportions = proportions
        self.tag_min_fraction = tag_min_fraction

    def _full_mask(self, results: dict, what: str) -> np.ndarray:
        if 'gt_seg_map' not in results:
            raise WeakAnnotationError(
                results.get('img_path', '?'), results.get('sample_key', '?'),
                f"{what}='recompute' needs the full mask: load 'full'")
        return results['gt_seg_map']

    def transform(self, results: dict) -> dict:
        if 'gt_proportions' in results and self.proportions == 'error':
            raise WeakAnnotationError(
                results.get('img_path', '?'), results.get('sample_key', '?'),
                'class proportions are image-level and a random crop would '
                'pair the crop with the proportions of the whole image; tile '
                'the dataset with per-patch proportions '
                "(tools/dataset/tile_dataset.py) or set proportions="
                "'recompute' when full masks exist")
        crop_bbox = self.crop_bbox(results)
        y1, y2, x1, x2 = crop_bbox
        results['img'] = self.crop(results['img'], crop_bbox)
        for key in _seg_keys(results):
            results[key] = self.crop(results[key], crop_bbox)
        h, w = results['img'].shape[:2]
        results['img_shape'] = (h, w)
        if results.get('gt_bboxes') is not None:
            self._crop_boxes(results, x1, y1, w, h)
        if 'gt_tags' in results and self.tags == 'recompute':
            num_classes = len(results['gt_tags'])
            tags = np.zeros(num_classes, dtype=np.float32)
            tags[image_tags(
                self._full_mask(results, 'tags'), num_classes,
                self.tag_min_fraction, self.ignore_index)] = 1
            results['gt_tags'] = tags
        if 'gt_proportions' in results:
            results['gt_proportions'] = class_proportions(
                self._full_mask(results, 'proportions'),
                len(results['gt_proportions']),
                self.ignore_index).astype(np.float32)
            results['proportions_shape'] = (h, w)
        return results

    @staticmethod
    def _crop_boxes(results: dict, x1: int, y1: int, w: int, h: int) -> None:
        boxes = results['gt_bboxes'] - np.array([x1, y1, x1, y1], np.float32)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        results['gt_bboxes'] = boxes[keep]
        for key in ('gt_bboxes_labels', 'gt_instance_ids'):
            if key in results:
                results[key] = results[key][keep]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'tags={self.tags!r}, proportions={self.proportions!r})')


@TRANSFORMS.register_module()
class WeakRandomRescale(WeakResize):
    """Rescale image and every map by a factor drawn from ``ratio_range``,
    relative to the sample's own size (so one pipeline fits datasets of any
    image size, unlike ``RandomResize``'s absolute target scale)."""

    def __init__(self, ratio_range: Tuple[float, float] = (0.75, 1.5),
                 **kwargs) -> None:
        super().__init__(scale_factor=1.0, keep_ratio=True, **kwargs)
        if not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f'bad ratio_range {ratio_range}')
        self.ratio_range = ratio_range

    @cache_randomness
    def _sample_ratio(self) -> float:
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        ratio = self._sample_ratio()
        self.scale_factor = (ratio, ratio)
        return super().transform(results)
