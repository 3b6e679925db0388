"""Loading of weak annotations into the pipeline's results dict."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS

from ..annotations import ANNOTATIONS, PIXEL, get_annotation
from ..validation import (WeakAnnotationError, check_label_map,
                          decode_label_map)


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
    """Load any registered annotation of a :class:`WeakSegDataset` sample
    (:mod:`mmseg_wsss.datasets.annotations`).

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
    detections    gt_det_bboxes, ...    boxes, labels, scores of a detector
    ============  ====================  ================================

    Args:
        annotations (Sequence[str]): Registered annotation names.
        num_classes (int, optional): Class count for class maps and tags;
            default: the sample's ``num_classes`` (set by
            :class:`WeakSegDataset`), required for other datasets.
    Maps are decoded with pillow, as MMSeg's ``LoadAnnotations`` does: a
    palette PNG gives its indices; a JPEG, an empty file or a colour image
    is refused with the reason (:func:`~mmseg_wsss.datasets.validation.
    decode_label_map`).
    """

    def __init__(self,
                 annotations: Sequence[str] = ('full', ),
                 num_classes: Optional[int] = None,
                 backend_args: Optional[dict] = None) -> None:
        unknown = set(annotations) - set(ANNOTATIONS)
        if unknown:
            raise ValueError(f'unknown annotations {sorted(unknown)}; '
                             f'choose from {tuple(ANNOTATIONS)}')
        self.annotations = tuple(annotations)
        self.num_classes = num_classes
        self.backend_args = backend_args

    def _read_map(self, path: str, sample: str) -> np.ndarray:
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except OSError as e:
            raise WeakAnnotationError(path, sample, f'unreadable map: {e}')
        return decode_label_map(data, path, sample)

    def _num_classes(self, results: dict, sample: str) -> int:
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes is None:
            raise WeakAnnotationError(
                results.get('img_path', '?'), sample,
                'the class count is unknown: use WeakSegDataset (it sets '
                'num_classes from its classes) or give LoadWeakAnnotations '
                'num_classes=...')
        return num_classes

    def _load_map(self, results: dict, kind, sample: str, file_hw: tuple,
                  num_classes: int, lut: Optional[np.ndarray]) -> None:
        if kind.source not in results:
            raise WeakAnnotationError(
                results['img_path'], sample,
                f"no '{kind.source}' for annotation '{kind.name}': set "
                f"data_prefix['{kind.source}'] in the dataset")
        arr = self._read_map(results[kind.source], sample)
        check_label_map(arr, file_hw, results[kind.source], sample,
                        num_classes if kind.class_map else None)
        if kind.class_map:
            arr = arr.astype(np.uint8)
            if lut is not None:
                arr = lut[arr]
        results[kind.results_key] = arr
        seg_fields = results.setdefault('seg_fields', [])
        if kind.results_key not in seg_fields:
            seg_fields.append(kind.results_key)

    def transform(self, results: dict) -> dict:
        sample = results.get('sample_key', results.get('img_path', '?'))
        if results.get('img') is None:
            raise WeakAnnotationError(
                results.get('img_path', '?'), sample, 'unreadable image')
        img_hw = results['img'].shape[:2]
        # maps match the image file (ori_shape): loaded after a Resize they
        # stay full-size, as MMSeg's LoadAnnotations in test pipelines
        file_hw = tuple(results.get('ori_shape', img_hw)[:2])
        num_classes = self._num_classes(results, sample)
        lut = _class_lut(results.get('label_map'),
                         results.get('reduce_zero_label', False))
        for name in self.annotations:
            kind = get_annotation(name)
            if kind.level == PIXEL:
                self._load_map(results, kind, sample, file_hw, num_classes,
                               lut)
                continue
            value = results.get('weak_ann', {}).get(name)
            if value is None:
                raise WeakAnnotationError(
                    results['img_path'], sample,
                    f'no {name}: give the dataset its {kind.source}')
            results.update(kind.to_results(value, num_classes))
            if name == 'proportions':  # the region they describe
                results['proportions_shape'] = tuple(img_hw)
        if 'gt_inst_map' in results and 'gt_instance_ids' in results:
            self._check_instances(results, sample)
        made_for = results.pop('gt_det_img_hw', None)
        if made_for is not None and tuple(made_for) != file_hw:
            raise WeakAnnotationError(
                results['img_path'], sample,
                f'the detections were made for a {made_for[1]}x{made_for[0]} '
                f'image, the file is {file_hw[1]}x{file_hw[0]}: a detection '
                'cache of another dataset?')
        return results

    @staticmethod
    def _check_instances(results: dict, sample: str) -> None:
        """Every id of an instance map must be the ``inst_id`` of a box of
        the COCO json (a box whose instance is hidden by others may have
        no pixel)."""
        in_map = set(np.unique(results['gt_inst_map']).tolist()) - {0}
        in_json = set(results['gt_instance_ids'].tolist())
        if in_map - in_json:
            raise WeakAnnotationError(
                results['inst_map_path'], sample,
                f'instance ids {sorted(in_map - in_json)} of the map have '
                f'no box in the json (its ids: {sorted(in_json)})')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(annotations={self.annotations})'


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose failures name the file and sample
    (:class:`WeakAnnotationError`) instead of a bare assertion.

    Images load **as stored, ignoring any EXIF orientation tag**
    (``color_type='color_ignore_orientation'``): the masks and weak maps
    are pixel arrays of the stored image, and rotating the image alone
    would train on labels turned against it (or fail on a size mismatch
    for non-square images). ``tools/dataset/check_dataset.py`` lists the
    images that carry such a tag.
    """

    def __init__(self,
                 color_type: str = 'color_ignore_orientation',
                 **kwargs) -> None:
        super().__init__(color_type=color_type, **kwargs)

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
