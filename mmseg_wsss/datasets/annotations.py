"""The annotation registry: one declaration per kind of (weak) annotation.

Every stage of the data path reads these declarations instead of tables of
string keys of its own:

* :class:`~mmseg_wsss.datasets.WeakSegDataset` lists pixel maps from
  ``data_prefix[kind.source]`` and reads image-level annotations from the
  dataset argument ``kind.source`` (``tags_file=...``) with ``kind.read``,
  validating every sample with ``kind.decode``;
* :class:`~mmseg_wsss.datasets.transforms.LoadWeakAnnotations` puts them in
  ``results[kind.results_key]`` (pixel maps also into ``seg_fields``);
* the geometric transforms flip, resize and crop every ``seg_fields`` map,
  swapping class labels on flips only for ``class_map`` kinds;
* :class:`~mmseg_wsss.datasets.transforms.PackWeakSegInputs` packs
  ``results_key`` into the ``SegDataSample`` field ``kind.field``;
* :class:`~mmseg_wsss.models.WeakSegDataPreProcessor` pads pixel fields
  with ``kind.pad_value``;
* the weak losses read ``target='<kind name>'`` from ``kind.field``.

A new kind is one :func:`register_annotation` call (plus, for an
image-level kind, its ``read`` / ``decode`` / ``to_results`` functions).
"""
import os.path as osp
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData

from .detections import check_entry, read_detections
from .validation import (WeakAnnotationError, check_boxes, check_proportions,
                         check_tags, read_json)

PIXEL, IMAGE = 'pixel', 'image'


@dataclass(frozen=True)
class AnnotationKind:
    """How one kind of annotation travels from disk to the losses.

    Args:
        name: The name configs use (``LoadWeakAnnotations(['scribble'])``,
            ``PackWeakSegInputs(target='scribble')``, a loss's ``target``).
        level: ``'pixel'`` (a PNG per image) or ``'image'`` (a file per
            split with one entry per sample).
        source: Pixel: the ``data_prefix`` key of its folder. Image: the
            dataset argument naming its file (relative to ``data_root``).
        results_key: Key in the pipeline's ``results``.
        field: ``SegDataSample`` field it is packed into.
        class_map: Pixel maps of class ids (``ignore_index`` elsewhere):
            range-checked, remapped by ``label_map`` /
            ``reduce_zero_label`` and label-swapped by flips.
        pad_value: Batch padding of a pixel map (``None``: the data
            preprocessor's ``seg_pad_val``).
        read: Image-level: ``read(path, classes, split)`` returns the
            file's entries keyed ``"<split>/<id>"``.
        decode: Image-level: ``decode(entry, num_classes, path, key)``
            validates one entry (raising :class:`WeakAnnotationError`) and
            returns it JSON-able, as stored in ``data_info['weak_ann']``.
        to_results: Image-level: ``to_results(value, num_classes)`` gives
            the ``results`` items (``results_key`` first).
        pack: Image-level: ``pack(results)`` gives the field's value;
            default ``torch.as_tensor(results[results_key])``.
    """
    name: str
    level: str
    source: str
    results_key: str
    field: str
    class_map: bool = False
    pad_value: Optional[int] = None
    read: Optional[Callable] = None
    decode: Optional[Callable] = None
    to_results: Optional[Callable] = None
    pack: Optional[Callable] = None


ANNOTATIONS: Dict[str, AnnotationKind] = {}


def register_annotation(kind: AnnotationKind) -> AnnotationKind:
    """Add ``kind`` to :data:`ANNOTATIONS` (names and keys must be new)."""
    if kind.level not in (PIXEL, IMAGE):
        raise ValueError(f'level must be {PIXEL!r} or {IMAGE!r}, got '
                         f'{kind.level!r}')
    for other in ANNOTATIONS.values():
        for attr in ('name', 'source', 'results_key', 'field'):
            if getattr(other, attr) == getattr(kind, attr):
                raise ValueError(f'annotation {kind.name!r}: {attr} '
                                 f'{getattr(kind, attr)!r} is taken by '
                                 f'{other.name!r}')
    if kind.level == IMAGE and not (kind.read and kind.decode
                                    and kind.to_results):
        raise ValueError(f'image-level annotation {kind.name!r} needs '
                         'read, decode and to_results')
    ANNOTATIONS[kind.name] = kind
    return kind


def get_annotation(name: str) -> AnnotationKind:
    """The kind called ``name``; ``KeyError`` listing the known ones."""
    if name not in ANNOTATIONS:
        raise KeyError(f'unknown annotation {name!r}; registered: '
                       f'{sorted(ANNOTATIONS)}')
    return ANNOTATIONS[name]


def annotations_of(level: str) -> List[AnnotationKind]:
    """Registered kinds of one level, in registration order."""
    return [k for k in ANNOTATIONS.values() if k.level == level]


def field_kind(field: str) -> Optional[AnnotationKind]:
    """The kind packed into ``SegDataSample`` field ``field``, if any."""
    return next((k for k in ANNOTATIONS.values() if k.field == field), None)


def _read_keyed_json(path: str, classes: Sequence[str], split: str) -> dict:
    return read_json(path)


def _read_coco(path: str, classes: Sequence[str], split: str) -> dict:
    """COCO json -> ``{"<split>/<id>": dict(bboxes, labels, instance_ids,
    img_hw)}`` (crowd annotations left out; categories by name)."""
    coco = read_json(path)
    cat_to_label = {}
    for cat in coco.get('categories', []):
        if cat['name'] not in classes:
            raise WeakAnnotationError(
                path, f"category {cat['id']}",
                f"category name {cat['name']!r} is not a dataset class")
        cat_to_label[cat['id']] = list(classes).index(cat['name'])
    anns = defaultdict(list)
    for ann in coco.get('annotations', []):
        if not ann.get('iscrowd', 0):
            anns[ann['image_id']].append(ann)
    out = {}
    for img in coco['images']:
        stem = osp.splitext(img['file_name'])[0]
        items = anns[img['id']]
        unknown = [a['category_id'] for a in items
                   if a['category_id'] not in cat_to_label]
        if unknown:
            raise WeakAnnotationError(
                path, stem, f'annotations use unknown category ids '
                f'{sorted(set(unknown))}')
        out[f'{split}/{stem}'] = dict(
            bboxes=[a['bbox'] for a in items],
            labels=[cat_to_label[a['category_id']] for a in items],
            instance_ids=[a.get('inst_id', i + 1)
                          for i, a in enumerate(items)],
            img_hw=[img['height'], img['width']])
    return out


def _decode_boxes(entry: dict, num_classes: int, path: str, key: str) -> dict:
    """COCO ``xywh`` boxes -> checked ``xyxy`` (in the image, positive
    area)."""
    xywh = np.array(entry['bboxes'], dtype=np.float32).reshape(-1, 4)
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    check_boxes(boxes, tuple(entry['img_hw']), path, key)
    return dict(bboxes=boxes.tolist(), labels=list(entry['labels']),
                instance_ids=list(entry['instance_ids']))


def _decode_detections(entry: dict, num_classes: int, path: str,
                       key: str) -> dict:
    return check_entry(entry, num_classes, path, key)


def _detection_results(value: dict, num_classes: int) -> dict:
    return {
        'gt_det_bboxes': np.asarray(value['bboxes'],
                                    np.float32).reshape(-1, 4),
        'gt_det_labels': np.asarray(value['labels'], np.int64),
        'gt_det_scores': np.asarray(value['scores'], np.float32),
        'gt_det_img_hw': tuple(value['img_hw']),
    }


def _pack_detections(results: dict) -> InstanceData:
    return InstanceData(
        bboxes=torch.as_tensor(results['gt_det_bboxes']),
        labels=torch.as_tensor(results['gt_det_labels']),
        scores=torch.as_tensor(results['gt_det_scores']))


def _decode_tags(entry: list, num_classes: int, path: str, key: str) -> list:
    return check_tags(entry, num_classes, path, key).tolist()


def _decode_proportions(entry: list, num_classes: int, path: str,
                        key: str) -> list:
    return check_proportions(entry, num_classes, path, key).tolist()


def _proportion_results(value: list, num_classes: int) -> dict:
    return {'gt_proportions': np.asarray(value, np.float32)}


def _tags_results(value: list, num_classes: int) -> dict:
    tags = np.zeros(num_classes, dtype=np.float32)
    tags[np.asarray(value, dtype=np.int64)] = 1
    return {'gt_tags': tags}


def _box_results(value: dict, num_classes: int) -> dict:
    return {
        'gt_bboxes': np.asarray(value['bboxes'], np.float32).reshape(-1, 4),
        'gt_bboxes_labels': np.asarray(value['labels'], np.int64),
        'gt_instance_ids': np.asarray(value['instance_ids'], np.int64),
    }


def _pack_boxes(results: dict) -> InstanceData:
    return InstanceData(
        bboxes=torch.as_tensor(results['gt_bboxes']),
        labels=torch.as_tensor(results['gt_bboxes_labels']),
        instance_ids=torch.as_tensor(results['gt_instance_ids']))


for _kind in (
        AnnotationKind('full', PIXEL, 'seg_map_path', 'gt_seg_map',
                       'gt_full_sem_seg', class_map=True),
        AnnotationKind('scribble', PIXEL, 'scribble_path', 'gt_scribble_map',
                       'gt_scribble', class_map=True),
        AnnotationKind('points', PIXEL, 'point_path', 'gt_point_map',
                       'gt_points', class_map=True),
        AnnotationKind('pseudo', PIXEL, 'pseudo_path', 'gt_pseudo_map',
                       'gt_pseudo_seg', class_map=True),
        AnnotationKind('inst_map', PIXEL, 'inst_map_path', 'gt_inst_map',
                       'gt_inst_seg', pad_value=0),
        # BES boundary regions: 0 / 1 background / foreground non-boundary,
        # 2 boundary, 255 uncertain (mmseg_wsss.algorithms.boundaries)
        AnnotationKind('boundary', PIXEL, 'boundary_path', 'gt_boundary_map',
                       'gt_boundary'),
        AnnotationKind('tags', IMAGE, 'tags_file', 'gt_tags', 'gt_tags',
                       read=_read_keyed_json, decode=_decode_tags,
                       to_results=_tags_results),
        AnnotationKind('proportions', IMAGE, 'proportions_file',
                       'gt_proportions', 'gt_proportions',
                       read=_read_keyed_json, decode=_decode_proportions,
                       to_results=_proportion_results),
        AnnotationKind('boxes', IMAGE, 'instances_file', 'gt_bboxes',
                       'gt_instances', read=_read_coco, decode=_decode_boxes,
                       to_results=_box_results, pack=_pack_boxes),
        # a detector's boxes, labels and scores for the instance CRF:
        # tools/dataset/make_detections.py (mmseg_wsss.datasets.detections);
        # not moved by geometric transforms (test-time / unaugmented use)
        AnnotationKind('detections', IMAGE, 'detections_file',
                       'gt_det_bboxes', 'detections', read=read_detections,
                       decode=_decode_detections,
                       to_results=_detection_results,
                       pack=_pack_detections),
):
    register_annotation(_kind)
