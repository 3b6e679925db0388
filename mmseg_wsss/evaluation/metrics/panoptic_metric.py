"""Panoptic Quality and AP^r of non-overlapping instance segmentations (Li,
Arnab and Torr, ECCV 2018, Sec. 4.1), over
:mod:`mmseg_wsss.algorithms.panoptic`."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmseg_wsss.algorithms.panoptic import (AP_VOL_THRESHOLDS, ImageInstances,
                                            PQStats,
                                            Segments, ap_r_from_instances,
                                            coco_segments_info, id2rgb,
                                            image_instances, instance_masks,
                                            panoptic_segments, pq_average,
                                            pq_per_class, pq_stats)
from mmseg_wsss.utils import atomic_write_image, atomic_write_json
from mmseg_wsss.visualization import panoptic_panel

ClassList = Sequence[Union[int, str]]


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) \
        else np.asarray(x)


def _sample_name(sample: dict) -> str:
    return str(sample.get('img_path', '<sample without img_path>'))


def _maps(sample: dict, keys: Sequence[str], metric: str) -> List[np.ndarray]:
    """The ``(H, W)`` maps of the PixelData fields ``keys`` (data ``(1, H,
    W)``); a ValueError naming the sample when one is missing or the sizes
    differ."""
    maps = []
    for key in keys:
        field = sample.get(key)
        if not isinstance(field, dict) or 'data' not in field:
            raise ValueError(f'{metric} needs {key} in every data sample; '
                             f'{_sample_name(sample)} has none')
        data = _numpy(field['data'])
        if data.ndim != 3 or data.shape[0] != 1:
            raise ValueError(f'{metric}: {key} of {_sample_name(sample)} is '
                             f'{data.shape}, not (1, H, W)')
        maps.append(data[0])
    if len({m.shape for m in maps}) > 1:
        raise ValueError(f'{metric}: the maps of {_sample_name(sample)} '
                         'differ in size: ' + ', '.join(
                             f'{k} {m.shape}' for k, m in zip(keys, maps)))
    return maps


def _class_ids(classes: Optional[ClassList],
               names: Optional[Sequence[str]]) -> Optional[List[int]]:
    """Class indices of class indices or names (looked up in ``names``)."""
    if classes is None:
        return None
    ids = []
    for c in classes:
        if isinstance(c, str):
            if names is None or c not in names:
                raise ValueError(f'class {c!r} is not among the dataset '
                                 f'classes {names}')
            c = list(names).index(c)
        elif names is not None and not 0 <= c < len(names):
            raise ValueError(f'class index {c} is not among the '
                             f'{len(names)} dataset classes')
        ids.append(int(c))
    return ids


@METRICS.register_module()
class PanopticQualityMetric(BaseMetric):
    """Panoptic Quality (eq. 5 of the paper) of panoptic predictions,
    computed as panopticapi's ``pq_compute`` does
    (:func:`~mmseg_wsss.algorithms.panoptic.pq_stats`).

    Each data sample needs ``pred_sem_seg`` and ``pred_inst_seg`` (instance
    ids, 0 = none), ``gt_sem_seg`` and ``gt_inst_seg`` (the ``inst_map``
    annotation of ``PackWeakSegInputs``), all PixelData ``(1, H, W)`` of one
    size. Segments (:func:`~mmseg_wsss.algorithms.panoptic.
    panoptic_segments`): a stuff class is one segment; each instance id > 0
    of thing pixels is one; thing pixels of instance 0 and ``ignore_index``
    pixels are VOID.

    Reports ``PQ``, ``SQ``, ``RQ`` over all classes, ``PQ_th`` ... over
    the thing classes and ``PQ_st`` ... over the stuff classes, in percent
    (2 decimals; classes with no segment in the ground truth or the
    predictions are left out), and logs a per-class table.

    Args:
        thing_classes (Sequence[int | str]): the thing classes, as indices
            or names of ``dataset_meta['classes']``; the other classes are
            stuff.
        ignore_index (int): unlabelled value of the class maps.
        output_dir (str, optional): also write the predictions in the COCO
            panoptic format: ``<output_dir>/panoptic_pred/<image>.png`` and
            ``<output_dir>/panoptic_pred.json`` (category ids = class
            indices, ``image_id`` = the image's file name stem), each
            through a temporary file and a rename, and overlays
            ``<output_dir>/panoptic_overlays/<image>.png`` (image |
            semantic | segments; when the dataset has a palette).
    """

    def __init__(self,
                 thing_classes: ClassList,
                 ignore_index: int = 255,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thing_classes = list(thing_classes)
        self.ignore_index = ignore_index
        self.output_dir = output_dir

    def _names(self) -> Optional[Sequence[str]]:
        return (self.dataset_meta or {}).get('classes')

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        things = _class_ids(self.thing_classes, self._names())
        for sample in data_samples:
            pred_sem, pred_inst, gt_sem, gt_inst = _maps(
                sample, ('pred_sem_seg', 'pred_inst_seg', 'gt_sem_seg',
                         'gt_inst_seg'), 'PanopticQualityMetric')
            pred_map, pred_segments = panoptic_segments(
                pred_sem, pred_inst, things, self.ignore_index)
            gt_map, gt_segments = panoptic_segments(gt_sem, gt_inst, things,
                                                    self.ignore_index)
            stats = pq_stats(pred_map, pred_segments, gt_map, gt_segments)
            annotation = None
            if self.output_dir is not None:
                annotation = self._write_png(sample, pred_map, pred_segments,
                                             pred_sem)
            self.results.append((stats, annotation))

    def _write_png(self, sample: dict, id_map: np.ndarray,
                   segments: Segments, sem: np.ndarray) -> dict:
        """Write the COCO panoptic PNG of a prediction and its overlay
        (image | semantic | segments,
        :func:`~mmseg_wsss.visualization.panoptic_panel`); its annotation.
        """
        if 'img_path' not in sample:
            raise ValueError('PanopticQualityMetric with output_dir needs '
                             'img_path in every data sample')
        stem = osp.splitext(osp.basename(sample['img_path']))[0]
        atomic_write_image(
            osp.join(self.output_dir, 'panoptic_pred', f'{stem}.png'),
            id2rgb(id_map)[..., ::-1])  # cv2 writes BGR
        palette = (self.dataset_meta or {}).get('palette')
        img = mmcv.imread(sample['img_path'], 'color_ignore_orientation',
                          channel_order='rgb') if palette and osp.isfile(
                              sample['img_path']) else None
        if img is not None and img.shape[:2] == id_map.shape:
            atomic_write_image(
                osp.join(self.output_dir, 'panoptic_overlays', f'{stem}.png'),
                panoptic_panel(img, sem, id_map, palette,
                               self.ignore_index)[..., ::-1])
        return dict(image_id=stem, file_name=f'{stem}.png',
                    segments_info=coco_segments_info(id_map, segments))

    def compute_metrics(self, results: List[Tuple[PQStats, Optional[dict]]]
                        ) -> Dict[str, float]:
        stats = sum((r[0] for r in results), PQStats())
        names = self._names()
        num = len(names) if names is not None else len(stats)
        things = set(_class_ids(self.thing_classes, names))
        classes = [c for c in range(num) if c != self.ignore_index]
        groups = dict(all=classes,
                      th=[c for c in classes if c in things],
                      st=[c for c in classes if c not in things])
        metrics = {}
        for group, members in groups.items():
            avg = pq_average(stats, members)
            suffix = '' if group == 'all' else f'_{group}'
            for key in ('pq', 'sq', 'rq'):
                metrics[key.upper() + suffix] = round(avg[key] * 100, 2)
        self._log_table(stats, classes, things, names)
        if self.output_dir is not None:
            atomic_write_json(
                osp.join(self.output_dir, 'panoptic_pred.json'),
                dict(annotations=[r[1] for r in results],
                     categories=[
                         dict(id=c, name=names[c] if names else str(c),
                              isthing=int(c in things)) for c in classes
                     ]))
        return metrics

    @staticmethod
    def _log_table(stats: PQStats, classes: List[int], things: set,
                   names: Optional[Sequence[str]]) -> None:
        pq, sq, rq = (_padded(v, max(classes, default=-1) + 1)
                      for v in pq_per_class(stats))
        counts = [_padded(v, len(pq)) for v in (stats.tp, stats.fp,
                                                 stats.fn)]
        table = PrettyTable()
        table.field_names = ['Class', 'kind', 'PQ', 'SQ', 'RQ', 'TP', 'FP',
                             'FN']
        for c in classes:
            scores = [round(float(v[c]) * 100, 2) for v in (pq, sq, rq)]
            table.add_row([names[c] if names else c,
                           'thing' if c in things else 'stuff', *scores,
                           *(int(v[c]) for v in counts)])
        logger = MMLogger.get_current_instance()
        print_log('per class panoptic results:', logger)
        print_log('\n' + table.get_string(), logger=logger)


def _padded(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` cut or padded to ``n`` entries (padding: nan for floats, 0
    for counts)."""
    fill = np.nan if a.dtype.kind == 'f' else 0
    return np.concatenate([a[:n], np.full(max(n - len(a), 0), fill,
                                          a.dtype)])


@METRICS.register_module()
class InstanceAPMetric(BaseMetric):
    """AP^r and AP^r_vol of instance predictions (the paper's Sec. 4.1,
    :func:`~mmseg_wsss.algorithms.panoptic.ap_r_from_instances`).

    Predictions: ``pred_instances`` (InstanceData with ``masks`` (N, H, W)
    bool, ``labels`` and ``scores``) or, when a sample has none, the
    instances of ``pred_inst_seg`` + ``pred_sem_seg`` with score 1. Ground
    truth: the instances of ``gt_inst_seg`` + ``gt_sem_seg``. Instances of
    maps are :func:`~mmseg_wsss.algorithms.panoptic.instance_masks`: each
    instance id > 0 (class: its majority class), plus, when
    ``thing_classes`` is given, one instance per stuff class present (the
    paper's stuff AP^r, Tab. 5). Pixels of class ``ignore_index`` in the
    ground truth count in no mask for the IoUs.

    Reports ``APr@0.5`` and ``APr@0.7`` (those in ``thresholds``) and
    ``APr_vol`` (the mean over ``thresholds``), in percent (2 decimals).

    Args:
        thresholds (Sequence[float]): IoU thresholds (default 0.1 to 0.9 in
            steps of 0.1, VOC's; 0.5 to 0.95 in steps of 0.05 on
            Cityscapes).
        one_to_one (bool): VOC / SDS matching, one prediction per ground
            truth (True), or the authors' MATLAB convention where a
            prediction is correct if it overlaps any ground truth (False).
        thing_classes (Sequence[int | str], optional): indices or names;
            None: every class is a thing (no stuff instances).
        ignore_index (int): unlabelled value of the class maps.
    """

    def __init__(self,
                 thresholds: Sequence[float] = AP_VOL_THRESHOLDS,
                 one_to_one: bool = True,
                 thing_classes: Optional[ClassList] = None,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thresholds = tuple(float(t) for t in thresholds)
        if not self.thresholds:
            raise ValueError('InstanceAPMetric needs IoU thresholds')
        self.one_to_one = one_to_one
        self.thing_classes = thing_classes
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        things = _class_ids(self.thing_classes,
                            (self.dataset_meta or {}).get('classes'))
        for sample in data_samples:
            gt_sem, gt_inst = _maps(sample, ('gt_sem_seg', 'gt_inst_seg'),
                                    'InstanceAPMetric')
            gt_masks, gt_labels = instance_masks(gt_sem, gt_inst, things,
                                                 self.ignore_index)
            pred = sample.get('pred_instances')
            if pred is not None:
                masks, labels, scores = self._instances(sample, pred,
                                                        gt_sem.shape)
            else:
                pred_sem, pred_inst = _maps(
                    sample, ('pred_sem_seg', 'pred_inst_seg', 'gt_sem_seg'),
                    'InstanceAPMetric')[:2]
                masks, labels = instance_masks(pred_sem, pred_inst, things,
                                               self.ignore_index)
                scores = np.ones(len(labels))
            self.results.append(
                image_instances(masks, labels, scores, gt_masks, gt_labels,
                                void=gt_sem == self.ignore_index))

    @staticmethod
    def _instances(sample: dict, pred: dict,
                   shape: Tuple[int, int]) -> Tuple[np.ndarray, ...]:
        missing = [k for k in ('masks', 'labels', 'scores') if k not in pred]
        if missing:
            raise ValueError(f'InstanceAPMetric: pred_instances of '
                             f'{_sample_name(sample)} lacks {missing}')
        masks, labels, scores = (_numpy(pred[k])
                                 for k in ('masks', 'labels', 'scores'))
        if masks.ndim != 3 or masks.shape[1:] != tuple(shape) or \
                len(labels) != len(masks) or len(scores) != len(masks):
            raise ValueError(
                f'InstanceAPMetric: pred_instances of '
                f'{_sample_name(sample)} has masks {masks.shape}, '
                f'{len(labels)} labels and {len(scores)} scores for a '
                f'{tuple(shape)} ground truth')
        return masks.astype(bool), labels, scores

    def compute_metrics(self, results: list) -> Dict[str, float]:
        # mmengine's result collection turns named tuples into plain ones
        results = [ImageInstances(*r) for r in results]
        ap = ap_r_from_instances(results, self.thresholds, self.one_to_one)
        metrics = {
            f'APr@{t:g}': round(ap.at(t) * 100, 2)
            for t in (0.5, 0.7) if np.isclose(self.thresholds, t).any()
        }
        metrics['APr_vol'] = round(ap.vol * 100, 2)
        return metrics
