"""Reference Panoptic Quality: a port of panopticapi's evaluation.

Source: https://github.com/cocodataset/panopticapi, file
``panopticapi/evaluation.py`` at commit
7bb4655548f98f3fedc07bf37e9040a992b054b0 (the file last changed in
5298a2c632f5f0c917692f3b5af51742a12d4382): ``PQStatCat``, ``PQStat`` (with
``pq_average``) and the per-image body of ``pq_compute_single_core``, kept
line for line. Changes: an image's id maps and ``segments_info`` are
arguments (numpy arrays and dicts) instead of PNG / JSON files, the input
dicts are copied instead of updated, and the progress prints are gone.

The licence of panopticapi (BSD 2-clause), as its ``license.txt``:

    Copyright (c) 2018, Alexander Kirillov
    All rights reserved.

    Redistribution and use in source and binary forms, with or without
    modification, are permitted provided that the following conditions are
    met:

    1. Redistributions of source code must retain the above copyright
       notice, this list of conditions and the following disclaimer.
    2. Redistributions in binary form must reproduce the above copyright
       notice, this list of conditions and the following disclaimer in the
       documentation and/or other materials provided with the distribution.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS
    IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED
    TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
    PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER
    OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
    EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
    PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR
    PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF
    LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
    NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
    SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

    The views and conclusions contained in the software and documentation
    are those of the authors and should not be interpreted as representing
    official policies, either expressed or implied, of the FreeBSD Project.
"""
from collections import defaultdict
from typing import Dict, Iterable, List, Tuple

import numpy as np

OFFSET = 256 * 256 * 256
VOID = 0


class PQStatCat():

    def __init__(self):
        self.iou = 0.0
        self.tp = 0
        self.fp = 0
        self.fn = 0

    def __iadd__(self, pq_stat_cat):
        self.iou += pq_stat_cat.iou
        self.tp += pq_stat_cat.tp
        self.fp += pq_stat_cat.fp
        self.fn += pq_stat_cat.fn
        return self


class PQStat():

    def __init__(self):
        self.pq_per_cat = defaultdict(PQStatCat)

    def __getitem__(self, i):
        return self.pq_per_cat[i]

    def __iadd__(self, pq_stat):
        for label, pq_stat_cat in pq_stat.pq_per_cat.items():
            self.pq_per_cat[label] += pq_stat_cat
        return self

    def pq_average(self, categories, isthing):
        pq, sq, rq, n = 0, 0, 0, 0
        per_class_results = {}
        for label, label_info in categories.items():
            if isthing is not None:
                cat_isthing = label_info['isthing'] == 1
                if isthing != cat_isthing:
                    continue
            iou = self.pq_per_cat[label].iou
            tp = self.pq_per_cat[label].tp
            fp = self.pq_per_cat[label].fp
            fn = self.pq_per_cat[label].fn
            if tp + fp + fn == 0:
                per_class_results[label] = {'pq': 0.0, 'sq': 0.0, 'rq': 0.0}
                continue
            n += 1
            pq_class = iou / (tp + 0.5 * fp + 0.5 * fn)
            sq_class = iou / tp if tp != 0 else 0
            rq_class = tp / (tp + 0.5 * fp + 0.5 * fn)
            per_class_results[label] = {
                'pq': pq_class,
                'sq': sq_class,
                'rq': rq_class
            }
            pq += pq_class
            sq += sq_class
            rq += rq_class

        return {
            'pq': pq / n,
            'sq': sq / n,
            'rq': rq / n,
            'n': n
        }, per_class_results


def pq_compute_image(pq_stat: PQStat, pan_gt: np.ndarray,
                     gt_segments_info: List[dict], pan_pred: np.ndarray,
                     pred_segments_info: List[dict],
                     categories: Dict[int, dict]) -> None:
    """The loop body of ``pq_compute_single_core`` for one image, adding to
    ``pq_stat``; ``pan_gt`` / ``pan_pred``: ``rgb2id`` of the PNGs."""
    gt_segms = {el['id']: dict(el) for el in gt_segments_info}
    pred_segms = {el['id']: dict(el) for el in pred_segments_info}

    # predicted segments area calculation + prediction sanity checks
    pred_labels_set = set(el['id'] for el in pred_segments_info)
    labels, labels_cnt = np.unique(pan_pred, return_counts=True)
    for label, label_cnt in zip(labels, labels_cnt):
        if label not in pred_segms:
            if label == VOID:
                continue
            raise KeyError(
                'segment with ID {} is presented in PNG and not presented '
                'in JSON.'.format(label))
        pred_segms[label]['area'] = label_cnt
        pred_labels_set.remove(label)
        if pred_segms[label]['category_id'] not in categories:
            raise KeyError('segment with ID {} has unknown category_id '
                           '{}.'.format(label,
                                        pred_segms[label]['category_id']))
    if len(pred_labels_set) != 0:
        raise KeyError('the following segment IDs {} are presented in JSON '
                       'and not presented in PNG.'.format(
                           list(pred_labels_set)))

    # confusion matrix calculation
    pan_gt_pred = pan_gt.astype(np.uint64) * OFFSET + pan_pred.astype(
        np.uint64)
    gt_pred_map = {}
    labels, labels_cnt = np.unique(pan_gt_pred, return_counts=True)
    for label, intersection in zip(labels, labels_cnt):
        gt_id = label // OFFSET
        pred_id = label % OFFSET
        gt_pred_map[(gt_id, pred_id)] = intersection

    # count all matched pairs
    gt_matched = set()
    pred_matched = set()
    for label_tuple, intersection in gt_pred_map.items():
        gt_label, pred_label = label_tuple
        if gt_label not in gt_segms:
            continue
        if pred_label not in pred_segms:
            continue
        if gt_segms[gt_label]['iscrowd'] == 1:
            continue
        if gt_segms[gt_label]['category_id'] != pred_segms[pred_label][
                'category_id']:
            continue

        union = pred_segms[pred_label]['area'] + gt_segms[gt_label][
            'area'] - intersection - gt_pred_map.get((VOID, pred_label), 0)
        iou = intersection / union
        if iou > 0.5:
            pq_stat[gt_segms[gt_label]['category_id']].tp += 1
            pq_stat[gt_segms[gt_label]['category_id']].iou += iou
            gt_matched.add(gt_label)
            pred_matched.add(pred_label)

    # count false positives
    crowd_labels_dict = {}
    for gt_label, gt_info in gt_segms.items():
        if gt_label in gt_matched:
            continue
        # crowd segments are ignored
        if gt_info['iscrowd'] == 1:
            crowd_labels_dict[gt_info['category_id']] = gt_label
            continue
        pq_stat[gt_info['category_id']].fn += 1

    # count false positives
    for pred_label, pred_info in pred_segms.items():
        if pred_label in pred_matched:
            continue
        # intersection of the segment with VOID
        intersection = gt_pred_map.get((VOID, pred_label), 0)
        # plus intersection with corresponding CROWD region if it exists
        if pred_info['category_id'] in crowd_labels_dict:
            intersection += gt_pred_map.get(
                (crowd_labels_dict[pred_info['category_id']], pred_label), 0)
        # predicted segment is ignored if more than half of the segment
        # correspond to VOID and CROWD regions
        if intersection / pred_info['area'] > 0.5:
            continue
        pq_stat[pred_info['category_id']].fp += 1


def pq_compute(images: Iterable[Tuple[np.ndarray, List[dict], np.ndarray,
                                      List[dict]]],
               categories: Dict[int, dict]) -> Tuple[PQStat, dict]:
    """``pq_compute`` on ``(pan_gt, gt_segments_info, pan_pred,
    pred_segments_info)`` per image: the summed ``PQStat`` and the results
    dict (``All`` / ``Things`` / ``Stuff`` averages, ``per_class``)."""
    pq_stat = PQStat()
    for pan_gt, gt_info, pan_pred, pred_info in images:
        pq_compute_image(pq_stat, pan_gt, gt_info, pan_pred, pred_info,
                         categories)
    results = {}
    for name, isthing in [('All', None), ('Things', True), ('Stuff', False)]:
        results[name], per_class_results = pq_stat.pq_average(
            categories, isthing=isthing)
        if name == 'All':
            results['per_class'] = per_class_results
    return pq_stat, results
