"""Loading of weak annotations into the pipeline's results dict."""
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS

from ..validation import WeakAnnotationError, check_label_map

#: annotation name -> (data_info path key, results key, is a class map)
PIXEL_MAPS = {
    'full': ('seg_map_path', 'gt_seg_map', True),
    'scribble': ('scribble_path', 'gt_scribble_map', True),
    'points': ('point_path', 'gt_point_map', True),
    'pseudo': ('pseudo_path', 'gt_pseudo_map', True),
    'inst_map': ('inst_map_path', 'gt_inst_map', False),
}
#: image-level annotations, read from ``data_info['weak_ann'][name]``
IMAGE_LEVEL = ('tags', 'proportions', 'boxes')
ANNOTATIONS = tuple(PIXEL_MAPS) + IMAGE_LEVEL


def _class_lut(label_map: Optional[dict], reduce_zero_label: bool,
               ignore_index: int = 255) -> Optional[np.ndarray]:
    """MMSeg's ``reduce_zero_label`` and custom-class ``label_map`` as one
    256-entry look-up table (``None`` when both are off)."""
    if not label_map and not reduce_zero_label:
        return None
    lut = np.arange(256, dtype=np.int64)
    if reduce_zero_label:
        lut = np.where(lut == 0, ignore_index, lut - 1)
        lut[ignore_index] = ignore_index
    if label_map:
        lut = np.array([label_map.get(v, v) if v != ignore_index else v
                        for v in lut])
    return lut.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadWeakAnnotations(BaseTransform):
    """Load any of the weak annotations of a :class:`WeakSegDataset` sample.

    Use after ``LoadImageFromFile``. Pixel maps go to their ``results`` key
    and to ``seg_fields`` (so every geometric transform keeps them aligned
    with the image); each is checked against the size of the image file
    (``ori_shape``: loaded after a ``Resize`` they stay full-size for
    evaluation, as with MMSeg's ``LoadAnnotations``) and, for class maps,
    the class range. ``full`` fills ``gt_seg_map`` as MMSeg's
    ``LoadAnnotations`` does (``reduce_zero_label`` and ``label_map`` apply
    to every class map).

    ============  ====================  ================================
    annotation    results key           content
    ============  ====================  ================================
    full          gt_seg_map            full mask (evaluation, upper bound)
    scribble      gt_scribble_map       scribbles, 255 elsewhere
    points        gt_point_map          point discs, 255 elsewhere
    pseudo        gt_pseudo_map         generated pseudo labels
    inst_map      gt_inst_map           instance ids (uint16, 0 = none)
    tags          gt_tags               multi-hot (C,) float32
    proportions   gt_proportions        (C,) float32, sums to 1
    boxes         gt_bboxes, ...labels  (N, 4) xyxy float32, (N,) int64
    ============  ====================  ================================

    Args:
        annotations (Sequence[str]): Names from the table.
        imdecode_backend (str): mmcv decoding backend. Defaults to 'cv2'.
    """

    def __init__(self,
                 annotations: Sequence[str] = ('full', ),
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        unknown = set(annotations) - set(ANNOTATIONS)
        if unknown:
            raise ValueError(f'unknown annotations {sorted(unknown)}; '
                             f'choose from {ANNOTATIONS}')
        self.annotations = tuple(annotations)
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _read_map(self, path: str, sample: str) -> np.ndarray:
        try:
            arr = mmcv.imfrombytes(
                fileio.get(path, backend_args=self.backend_args),
                flag='unchanged',
                backend=self.imdecode_backend)
        except Exception as e:  # noqa: BLE001 - re-raised with context
            raise WeakAnnotationError(path, sample, f'unreadable map: {e}')
        if arr is None:
            raise WeakAnnotationError(path, sample, 'unreadable map')
        if arr.ndim == 3:
            raise WeakAnnotationError(
                path, sample, f'expected a single-channel map, got '
                f'{arr.shape[2]} channels')
        return arr

    @staticmethod
    def _load_image_level(results: dict, name: str, sample: str,
                          num_classes: int) -> None:
        value = results.get('weak_ann', {}).get(name)
        if value is None:
            raise WeakAnnotationError(
                results['img_path'], sample,
                f'no {name}: give the dataset its {name} file')
        if name == 'tags':
            tags = np.zeros(num_classes, dtype=np.float32)
            tags[np.asarray(value, dtype=np.int64)] = 1
            results['gt_tags'] = tags
        elif name == 'proportions':
            results['gt_proportions'] = np.asarray(value, dtype=np.float32)
        else:
            results['gt_bboxes'] = np.asarray(
                value['bboxes'], np.float32).reshape(-1, 4)
            results['gt_bboxes_labels'] = np.asarray(value['labels'],
                                                     np.int64)
            results['gt_instance_ids'] = np.asarray(value['instance_ids'],
                                                    np.int64)

    def transform(self, results: dict) -> dict:
        sample = results.get('sample_key', results.get('img_path', '?'))
        if results.get('img') is None:
            raise WeakAnnotationError(
                results.get('img_path', '?'), sample, 'unreadable image')
        img_hw = results['img'].shape[:2]
        # maps match the image file (ori_shape): loaded after a Resize they
        # stay full-size, as MMSeg's LoadAnnotations in test pipelines
        file_hw = tuple(results.get('ori_shape', img_hw)[:2])
        num_classes = results['num_classes']
        lut = _class_lut(results.get('label_map'),
                         results.get('reduce_zero_label', False))
        seg_fields = results.setdefault('seg_fields', [])
        for name in self.annotations:
            if name in PIXEL_MAPS:
                path_key, key, is_class_map = PIXEL_MAPS[name]
                if path_key not in results:
                    raise WeakAnnotationError(
                        results['img_path'], sample,
                        f"no '{path_key}' for annotation '{name}': set "
                        f"data_prefix['{path_key}'] in the dataset")
                arr = self._read_map(results[path_key], sample)
                check_label_map(arr, file_hw, results[path_key], sample,
                                num_classes if is_class_map else None)
                if is_class_map:
                    arr = arr.astype(np.uint8)
                    if lut is not None:
                        arr = lut[arr]
                results[key] = arr
                if key not in seg_fields:
                    seg_fields.append(key)
            else:
                self._load_image_level(results, name, sample, num_classes)
                if name == 'proportions':  # the region they describe
                    results['proportions_shape'] = tuple(img_hw)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(annotations={self.annotations})'


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose failures name the file and sample
    (:class:`WeakAnnotationError`) instead of a bare assertion."""

    @staticmethod
    def _load_image_level(results: dict, name: str, sample: str,
                          num_classes: int) -> None:
        value = results.get('weak_ann', {}).get(name)
        if value is None:
            raise WeakAnnotationError(
                results['img_path'], sample,
                f'no {name}: give the dataset its {name} file')
        if name == 'tags':
            tags = np.zeros(num_classes, dtype=np.float32)
            tags[np.asarray(value, dtype=np.int64)] = 1
            results['gt_tags'] = tags
        elif name == 'proportions':
            results['gt_proportions'] = np.asarray(value, dtype=np.float32)
        else:
            results['gt_bboxes'] = np.asarray(
                value['bboxes'], np.float32).reshape(-1, 4)
            results['gt_bboxes_labels'] = np.asarray(value['labels'],
                                                     np.int64)
            results['gt_instance_ids'] = np.asarray(value['instance_ids'],
                                                    np.int64)

    def transform(self, results: dict) -> dict:
        sample = results.get('sample_key', '?')
        try:
            out = super().transform(results)
        except Exception as e:  # noqa: BLE001 - re-raised with context
            raise WeakAnnotationError(results['img_path'], sample,
                                      f'unreadable image: {e}') from e
        if out is None or out.get('img') is None:
            raise WeakAnnotationError(results['img_path'], sample,
                                      'unreadable image')
        return out
