"""mmseg_wsss.algorithms.panoptic and the panoptic metrics: PQ (eq. 5) and
AP^r on hand-computed cases, PQ against a port of panopticapi on random
panoptic maps, the MMSeg metrics, the COCO panoptic output."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms.panoptic import (APr, ImageInstances, PQStats,
                                            Segments, ap_r,
                                            ap_r_from_instances,
                                            coco_segments_info, id2rgb,
                                            instance_masks, mask_ious,
                                            panoptic_segments, pq_average,
                                            pq_per_class, pq_stats, rgb2id,
                                            to_coco_panoptic, voc_ap)
from panopticapi_reference import PQStat, pq_compute, pq_compute_image

IGN = 255


def _toy():
    """2 classes (0 stuff 'sky', 1 thing 'car') on 8 x 8.

    GT: car A rows 0-3 x cols 0-3 (16 px, inst 1), car B rows 6-7 x cols
    6-7 (4 px, inst 2), VOID rows 0-3 x cols 4-5 (8 px), sky the other 36.
    Pred: car P1 rows 0-3 x cols 1-5 (20 px: 12 on A, 8 on VOID), car P2
    rows 6-7 x cols 0-1 (4 px on sky), sky the other 40 (36 - 4 + B).
    """
    gt_sem = np.zeros((8, 8), np.uint8)
    gt_inst = np.zeros((8, 8), np.uint16)
    gt_sem[:4, :4], gt_inst[:4, :4] = 1, 1
    gt_sem[6:, 6:], gt_inst[6:, 6:] = 1, 2
    gt_sem[:4, 4:6] = IGN
    pred_sem = np.zeros((8, 8), np.uint8)
    pred_inst = np.zeros((8, 8), np.uint16)
    pred_sem[:4, 1:6], pred_inst[:4, 1:6] = 1, 5
    pred_sem[6:, :2], pred_inst[6:, :2] = 1, 7
    return pred_sem, pred_inst, gt_sem, gt_inst


def _stats(pred_sem, pred_inst, gt_sem, gt_inst, things=(1, ),
           gt_crowd=()) -> PQStats:
    return pq_stats(*panoptic_segments(pred_sem, pred_inst, things),
                    *panoptic_segments(gt_sem, gt_inst, things,
                                       crowd_ids=gt_crowd))


# ------------------------------------------------------------- segments
def test_panoptic_segments_stuff_instances_void_and_majority():
    sem = np.array([[0, 0, 1, 1, 1],
                    [0, 2, 1, 2, IGN],
                    [3, 2, 2, 0, 0]], np.uint8)
    inst = np.array([[0, 0, 4, 4, 0],
                     [0, 9, 4, 4, 0],
                     [0, 9, 9, 0, 0]], np.uint16)
    id_map, seg = panoptic_segments(sem, inst, thing_classes=[1, 2],
                                    crowd_ids=[9])
    # stuff 0 -> 1, stuff 3 -> 2, instance 4 -> 3, instance 9 -> 4; the
    # class-1 pixel of instance 0 at (0, 4) and the 255 pixel are VOID
    np.testing.assert_array_equal(id_map, [[1, 1, 3, 3, 0],
                                           [1, 4, 3, 3, 0],
                                           [2, 4, 4, 1, 1]])
    np.testing.assert_array_equal(seg.ids, [1, 2, 3, 4])
    # instance 4: 3 pixels of class 1, 1 of class 2 -> class 1
    np.testing.assert_array_equal(seg.categories, [0, 3, 1, 2])
    np.testing.assert_array_equal(seg.areas, [5, 1, 4, 3])
    np.testing.assert_array_equal(seg.iscrowd, [0, 0, 0, 1])
    # large instance ids (looked up by binary search): the same segments
    big_map, big = panoptic_segments(sem, inst.astype(np.int64) * 10**9,
                                     [1, 2], crowd_ids=[9 * 10**9])
    np.testing.assert_array_equal(big_map, id_map)
    for got, want in zip(big, seg):
        np.testing.assert_array_equal(got, want)
    # no segment at all
    none_map, none = panoptic_segments(np.full((2, 2), IGN), inst[:2, :2],
                                       [1])
    assert not none_map.any() and all(len(v) == 0 for v in none)
    # a tie (2 + 2) goes to the lowest class
    _, tie = panoptic_segments(np.array([[1, 1, 2, 2]]),
                               np.array([[3, 3, 3, 3]]), [1, 2])
    np.testing.assert_array_equal(tie.categories, [1])
    with pytest.raises(ValueError, match='differ'):
        panoptic_segments(sem, inst[:2], [1])


# ------------------------------------------------------------- PQ, eq. 5
def test_pq_toy_tp_fp_fn_and_void_in_union():
    stats = _stats(*_toy())
    # sky: inter 32 (36 GT sky - the 4 under P2), union 40 + 36 - 32 = 44,
    # none of pred sky on VOID -> TP, IoU 8/11.
    # car: P1/A inter 12, union 20 + 16 - 12 - 8 (P1 on VOID) = 16 -> IoU
    # 0.75, a TP (0.5 without the VOID term: no match); P2 -> FP; B -> FN.
    np.testing.assert_array_equal(stats.tp, [1, 1])
    np.testing.assert_array_equal(stats.fp, [0, 1])
    np.testing.assert_array_equal(stats.fn, [0, 1])
    np.testing.assert_allclose(stats.iou, [8 / 11, 0.75], rtol=0,
                               atol=1e-15)
    pq, sq, rq = pq_per_class(stats)
    np.testing.assert_allclose(pq, [8 / 11, 0.75 / 2])
    np.testing.assert_allclose(sq, [8 / 11, 0.75])
    np.testing.assert_allclose(rq, [1, 0.5])
    avg = pq_average(stats, [0, 1])
    assert avg['pq'] == pytest.approx((8 / 11 + 0.375) / 2)
    assert avg['sq'] == pytest.approx((8 / 11 + 0.75) / 2)
    assert avg['rq'] == pytest.approx(0.75)
    assert avg['n'] == 2
    assert pq_average(stats, [1]) == pytest.approx(
        dict(pq=0.375, sq=0.75, rq=0.5, n=1))
    # a class never seen is left out; nothing seen -> nan, n = 0
    assert pq_average(stats, [0, 1, 2])['n'] == 2
    empty = pq_average(PQStats(), [0, 1])
    assert empty['n'] == 0 and np.isnan(empty['pq'])
    # image by image: the sum of two toys doubles every count
    double = stats + stats
    np.testing.assert_array_equal(double.fp, [0, 2])
    assert pq_average(double, [0, 1]) == pytest.approx(avg)


def test_pq_prediction_mostly_on_void_is_no_false_positive():
    gt_sem = np.zeros((6, 6), np.uint8)
    gt_sem[:3, :3] = IGN  # 9 VOID pixels
    gt_inst = np.zeros((6, 6), np.uint16)
    pred_sem = np.zeros((6, 6), np.uint8)
    pred_inst = np.zeros((6, 6), np.uint16)
    # car of 12 px, 9 on VOID: 9 / 12 > 0.5 -> ignored
    pred_sem[:4, :3], pred_inst[:4, :3] = 1, 1
    stats = _stats(pred_sem, pred_inst, gt_sem, gt_inst)
    np.testing.assert_array_equal(stats.fp, [0, 0])
    # sky: pred 24 px, GT 27, inter 24 -> 24 / 27, a TP
    np.testing.assert_array_equal(stats.tp, [1, 0])
    assert stats.iou[0] == pytest.approx(24 / 27)
    # car of 18 px, 9 on VOID: 9 / 18 = 0.5, not > 0.5 -> a false positive
    pred_sem[:6, :3], pred_inst[:6, :3] = 1, 1
    stats = _stats(pred_sem, pred_inst, gt_sem, gt_inst)
    np.testing.assert_array_equal(stats.fp, [0, 1])


def test_pq_crowd_regions():
    """Classes 0 stuff, 1 car, 2 person; a GT crowd of cars (inst 3) rows
    0-3 x cols 0-3. Pred: a car on its cols 0-1, a person on its cols
    2-3."""
    gt_sem = np.zeros((8, 8), np.uint8)
    gt_inst = np.zeros((8, 8), np.uint16)
    gt_sem[:4, :4], gt_inst[:4, :4] = 1, 3
    pred_sem = np.zeros((8, 8), np.uint8)
    pred_inst = np.zeros((8, 8), np.uint16)
    pred_sem[:4, :2], pred_inst[:4, :2] = 1, 1
    pred_sem[:4, 2:4], pred_inst[:4, 2:4] = 2, 2
    stats = _stats(pred_sem, pred_inst, gt_sem, gt_inst, things=(1, 2),
                   gt_crowd=(3, ))
    # the car lies on the crowd of its category: no FP; the person on a
    # crowd of cars: FP; the crowd itself: no FN (and never a TP)
    np.testing.assert_array_equal(stats.tp, [1, 0, 0])
    np.testing.assert_array_equal(stats.fp, [0, 0, 1])
    np.testing.assert_array_equal(stats.fn, [0, 0, 0])
    # a crowd listed as a non-crowd segment: the car, IoU 8 / 16, is no TP
    stats = _stats(pred_sem, pred_inst, gt_sem, gt_inst, things=(1, 2))
    np.testing.assert_array_equal(stats.tp, [1, 0, 0])
    np.testing.assert_array_equal(stats.fp, [0, 1, 1])
    np.testing.assert_array_equal(stats.fn, [0, 1, 0])
    # panopticapi keeps one crowd region per category, the last listed: a
    # second car crowd (inst 4) makes the car on crowd 3 a false positive
    gt_sem[6:, 6:], gt_inst[6:, 6:] = 1, 4
    stats = _stats(pred_sem, pred_inst, gt_sem, gt_inst, things=(1, 2),
                   gt_crowd=(3, 4))
    np.testing.assert_array_equal(stats.fp, [0, 1, 1])
    # as the reference port does, given the same segments
    pred = panoptic_segments(pred_sem, pred_inst, (1, 2))
    gt = panoptic_segments(gt_sem, gt_inst, (1, 2), crowd_ids=(3, 4))
    ref, _ = pq_compute([(gt[0], _info(gt[1]), pred[0], _info(pred[1]))],
                        {c: dict(isthing=int(c > 0)) for c in range(3)})
    assert [ref[c].fp for c in range(3)] == [0, 1, 1]


def test_pq_stats_rejects_unknown_ids_and_empty_predictions():
    id_map = np.array([[1, 2], [0, 2]])
    seg = Segments(np.array([1, 2]), np.array([0, 1]), np.array([1, 2]),
                   np.zeros(2, bool))
    with pytest.raises(ValueError, match=r'ids \[7\] missing'):
        pq_stats(np.array([[1, 7], [0, 2]]), seg, id_map, seg)
    three = Segments(np.array([1, 2, 3]), np.array([0, 1, 1]),
                     np.array([1, 2, 0]), np.zeros(3, bool))
    with pytest.raises(ValueError, match=r'\[3\] have no pixel'):
        pq_stats(id_map, three, id_map, seg)
    with pytest.raises(ValueError, match='differ'):
        pq_stats(id_map, seg, id_map[:1], seg)


# ------------------------------------------------- panopticapi reference
def _info(seg: Segments):
    return [dict(id=int(i), category_id=int(c), area=int(a),
                 iscrowd=int(k))
            for i, c, a, k in zip(seg.ids, seg.categories, seg.areas,
                                  seg.iscrowd)]


def _random_image(rng, h, w, things, stuff):
    """GT (sem, inst, crowd ids) and a perturbed prediction (sem, inst)."""
    sem = np.full((h, w), stuff[0], np.uint8)
    for c in rng.choice(stuff, rng.integers(1, 4)):
        y, x = rng.integers(0, h), rng.integers(0, w)
        sem[y:y + rng.integers(5, h), x:x + rng.integers(5, w)] = c
    inst = np.zeros((h, w), np.uint16)
    yy, xx = np.mgrid[:h, :w]
    for i in range(1, rng.integers(2, 9)):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(2, h // 3), rng.integers(2, w // 3)
        if rng.random() < 0.5:  # ellipse
            blob = ((yy - cy) / ry)**2 + ((xx - cx) / rx)**2 <= 1
        else:
            blob = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
        sem[blob], inst[blob] = rng.choice(things), i
    sem[(inst == 0) & (rng.random((h, w)) < 0.02)] = things[0]  # inst 0
    for _ in range(rng.integers(0, 3)):  # VOID patches
        y, x = rng.integers(0, h), rng.integers(0, w)
        sem[y:y + rng.integers(2, 12), x:x + rng.integers(2, 12)] = IGN
    crowd = [i for i in range(1, inst.max() + 1) if rng.random() < 0.25]
    # prediction: shifted / grown / shrunk instances, drops, merges,
    # relabels, stuff noise and a few VOID (255) pixels
    p_sem = np.where(sem == IGN, stuff[0], sem).astype(np.uint8)
    p_inst = inst.copy()
    kernel = np.ones((3, 3), np.uint8)
    for i in range(1, inst.max() + 1):
        m = (inst == i).astype(np.uint8)
        if not m.any():
            continue
        c = int(np.bincount(sem[m > 0]).argmax())
        p_sem[m > 0], p_inst[m > 0] = stuff[0], 0
        r = rng.random()
        if r < 0.15:
            continue  # dropped
        if r < 0.35:
            m = cv2.dilate(m, kernel, iterations=int(rng.integers(1, 4)))
        elif r < 0.55:
            m = cv2.erode(m, kernel, iterations=int(rng.integers(1, 3)))
        elif r < 0.7:
            m = np.roll(m, tuple(rng.integers(-3, 4, 2)), (0, 1))
        if rng.random() < 0.1:
            c = int(rng.choice(things))
        j = i - 1 if i > 1 and rng.random() < 0.15 else i  # merge
        p_sem[m > 0], p_inst[m > 0] = c, j
    noise = rng.random((h, w)) < 0.05
    p_sem[noise & (p_inst == 0)] = rng.choice(stuff)
    p_sem[rng.random((h, w)) < 0.01] = IGN
    return (sem, inst, crowd), (p_sem, p_inst)


def _relabel(rng, id_map, seg: Segments):
    """The same segments under random 24-bit ids, listed in random order
    (crowd segments keep their relative order: panopticapi's crowd rule
    depends on it)."""
    new = rng.choice(1 << 24, len(seg.ids) + 1, replace=False)
    new = new[new != 0][:len(seg.ids)]
    table = np.r_[0, new]
    order = rng.permutation(len(seg.ids))
    crowd_pos = np.flatnonzero(seg.iscrowd[order])
    order[crowd_pos] = np.sort(order[crowd_pos])
    return table[id_map], Segments(new[order], seg.categories[order],
                                   seg.areas[order], seg.iscrowd[order])


@pytest.mark.parametrize('seed', range(30))
def test_pq_matches_panopticapi_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    things, stuff = [1, 2, 3], [0, 4, 5]
    images, ours = [], PQStats()
    for _ in range(3):
        h, w = rng.integers(24, 48, 2)
        (sem, inst, crowd), (p_sem, p_inst) = _random_image(
            rng, h, w, things, stuff)
        gt_map, gt = panoptic_segments(sem, inst, things, crowd_ids=crowd)
        pred_map, pred = panoptic_segments(p_sem, p_inst, things)
        if rng.random() < 0.5:
            gt_map, gt = _relabel(rng, gt_map, gt)
            pred_map, pred = _relabel(rng, pred_map, pred)
        ours += pq_stats(pred_map, pred, gt_map, gt)
        # the reference reads the maps as the PNGs would give them
        images.append((rgb2id(id2rgb(gt_map)), _info(gt),
                       rgb2id(id2rgb(pred_map)), _info(pred)))
    categories = {c: dict(isthing=int(c in things)) for c in range(6)}
    ref, results = pq_compute(images, categories)
    n = len(ours)
    assert sum(ours.fp) + sum(ours.fn) > 0  # a non-trivial matching
    np.testing.assert_array_equal(ours.tp, [ref[c].tp for c in range(n)])
    np.testing.assert_array_equal(ours.fp, [ref[c].fp for c in range(n)])
    np.testing.assert_array_equal(ours.fn, [ref[c].fn for c in range(n)])
    np.testing.assert_allclose(ours.iou, [ref[c].iou for c in range(n)],
                               rtol=0, atol=1e-9)
    for c, (pq, sq, rq) in enumerate(zip(*pq_per_class(ours))):
        want = results['per_class'][c]
        if np.isnan(pq):  # never seen: panopticapi reports 0
            assert want == dict(pq=0.0, sq=0.0, rq=0.0)
        else:
            assert (pq, sq, rq) == pytest.approx(
                (want['pq'], want['sq'], want['rq']), abs=1e-9)
    for name, cats in (('All', range(6)), ('Things', things),
                       ('Stuff', stuff)):
        assert pq_average(ours, cats) == pytest.approx(results[name],
                                                       abs=1e-9)


def test_pq_matches_panopticapi_with_one_segment_per_pixel():
    """14 400 segments a side: the pairs are counted by np.unique."""
    rng = np.random.default_rng(0)
    h = w = 120
    gt_inst = np.arange(1, h * w + 1).reshape(h, w)
    pred_inst = gt_inst.copy()
    pred_inst[:, 1::2][rng.random((h, w // 2)) < 0.5] -= 1  # merged pairs
    sem = rng.integers(1, 3, (h, w))
    gt = panoptic_segments(sem, gt_inst, [1, 2])
    pred = panoptic_segments(sem, pred_inst, [1, 2])
    ours = pq_stats(*pred, *gt)
    ref = PQStat()
    pq_compute_image(ref, gt[0], _info(gt[1]), pred[0], _info(pred[1]),
                     {c: dict(isthing=1) for c in range(3)})
    assert 0 < ours.tp.sum() < h * w
    np.testing.assert_array_equal(ours.tp, [ref[c].tp for c in range(3)])
    np.testing.assert_array_equal(ours.fp, [ref[c].fp for c in range(3)])
    np.testing.assert_array_equal(ours.fn, [ref[c].fn for c in range(3)])


# ------------------------------------------------------------------ AP^r
def _ap_images():
    """Class 0: image 1 has GT g1, g2, image 2 has g3 and an ignored g4.
    Predictions (score, image, IoUs): p5 (0.95, 2, g4 0.9), p1 (0.9, 1,
    g1 0.8 g2 0.1), p2 (0.8, 1, g1 0.6 g2 0.3), p3 (0.7, 2, g3 0.55), p4
    (0.6, 1, g1 0 g2 0.9); and a class-1 prediction without GT."""
    im1 = ImageInstances(np.array([0, 0, 0, 1]),
                         np.array([0.9, 0.8, 0.6, 0.99]), np.array([0, 0]),
                         np.zeros(2, bool),
                         np.array([[0.8, 0.1], [0.6, 0.3], [0., 0.9],
                                   [0., 0.]]))
    im2 = ImageInstances(np.array([0, 0]), np.array([0.7, 0.95]),
                         np.array([0, 0]), np.array([False, True]),
                         np.array([[0.55, 0.], [0., 0.9]]))
    return [im1, im2]


def test_ap_r_hand_computed():
    """p5 is dropped (it covers the ignored g4 only); 3 positives.

    one-to-one, t = 0.5: p1 TP (g1), p2 FP (g1 taken, g2 0.3), p3 TP, p4
    TP: precision 1, 1/2, 2/3, 3/4 at recall 1/3, 1/3, 2/3, 1; the
    envelope is 1 up to recall 1/3, then 3/4: AP = 1/3 + 2/3 * 3/4 = 5/6.
    t = 0.7: p1 TP, p2 FP, p3 FP, p4 TP: precision 1, 1/2, 1/3, 1/2 at
    recall 1/3, 1/3, 1/3, 2/3: AP = 1/3 * 1 + 1/3 * 1/2 = 1/2.
    Any-overlap convention, t = 0.5: p2 is correct too (g1 reused) and
    covers nothing new: precision 1 throughout, recall up to 1: AP = 1;
    t = 0.7: as one-to-one, 1/2.
    """
    thresholds = (0.5, 0.7)
    one = ap_r_from_instances(_ap_images(), thresholds)
    np.testing.assert_allclose(one.per_class[:, 0], [5 / 6, 1 / 2])
    assert np.isnan(one.per_class).all(0).tolist() == [False, True]
    assert one.at(0.5) == pytest.approx(5 / 6)
    assert one.at(0.7) == pytest.approx(1 / 2)
    assert one.vol == pytest.approx((5 / 6 + 1 / 2) / 2)
    anyo = ap_r_from_instances(_ap_images(), thresholds, one_to_one=False)
    np.testing.assert_allclose(anyo.per_class[:, 0], [1, 1 / 2])
    with pytest.raises(KeyError):
        one.at(0.9)
    # at 0.95 nothing is correct: AP 0; p5 then counts as a false positive
    assert ap_r_from_instances(_ap_images(), (0.95, )).at(0.95) == 0
    # greedy on the highest IoU: q1 (IoU 0.6 with g1, 0.8 with g2) takes
    # g2, so q2 (0 with g1, 0.7 with g2) is a FP: precision 1, 1/2 at
    # recall 1/2, 1/2 -> AP 1/2 (matching q1 to g1 would give 1)
    greedy = ImageInstances(np.zeros(2, int), np.array([0.9, 0.8]),
                            np.zeros(2, int), np.zeros(2, bool),
                            np.array([[0.6, 0.8], [0., 0.7]]))
    assert ap_r_from_instances([greedy], (0.5, )).at(0.5) == 0.5
    # IoU >= t is correct: IoU exactly 0.5 at t = 0.5
    exact = ImageInstances(np.zeros(1, int), np.ones(1), np.zeros(1, int),
                           np.zeros(1, bool), np.array([[0.5]]))
    assert ap_r_from_instances([exact], (0.5, 0.75)).mean.tolist() == [1, 0]


def test_voc_ap_all_point_interpolation():
    # precision 1, 0.5, 2/3 at recall 0.5, 0.5, 1 -> 0.5 + 0.5 * 2/3
    assert voc_ap(np.array([0.5, 0.5, 1]),
                  np.array([1, 0.5, 2 / 3])) == pytest.approx(5 / 6)
    assert voc_ap(np.array([]), np.array([])) == 0


def test_ap_r_on_masks_and_void():
    """1 x 10 strip: GT g = px 0-4. a = px 0-3 (IoU 4/5), b = px 3-7
    (IoU 2/8, with px 5-9 void 2/5)."""
    strip = np.zeros((1, 10), bool)
    g, a, b = strip.copy(), strip.copy(), strip.copy()
    g[0, :5], a[0, :4], b[0, 3:8] = True, True, True
    void = strip.copy()
    void[0, 5:] = True
    np.testing.assert_allclose(mask_ious(np.stack([a, b]), g[None]),
                               [[0.8], [0.25]])
    np.testing.assert_allclose(mask_ious(np.stack([a, b]), g[None], void),
                               [[0.8], [0.4]])
    # b ranked first: at 0.5 it is a FP, then a TP -> AP 1/2; at 0.2 b is
    # the TP and a a duplicate -> AP 1
    res = ap_r([(np.stack([a, b]), [3, 3], [0.5, 0.9])], [(g[None], [3])],
               thresholds=(0.2, 0.5))
    assert isinstance(res, APr)
    np.testing.assert_allclose(res.mean, [1, 0.5])
    assert np.isnan(res.per_class[:, :3]).all()


def test_instance_masks_of_maps():
    sem = np.array([[0, 1, 1], [2, 2, IGN]])
    inst = np.array([[0, 3, 3], [5, 5, 0]])
    masks, labels = instance_masks(sem, inst)
    np.testing.assert_array_equal(labels, [1, 2])
    np.testing.assert_array_equal(masks[1], [[0, 0, 0], [1, 1, 0]])
    # with thing classes, the stuff class 0 is one more instance
    masks, labels = instance_masks(sem, inst, thing_classes=[1, 2])
    np.testing.assert_array_equal(labels, [0, 1, 2])
    np.testing.assert_array_equal(masks[0], [[1, 0, 0], [0, 0, 0]])


# ------------------------------------------------------------ metrics
def _sample(name, pred_sem=None, pred_inst=None, gt_sem=None, gt_inst=None,
            instances=None) -> dict:
    s = SegDataSample(metainfo=dict(img_path=f'/data/img/{name}.jpg'))
    for key, m in (('pred_sem_seg', pred_sem), ('pred_inst_seg', pred_inst),
                   ('gt_sem_seg', gt_sem), ('gt_inst_seg', gt_inst)):
        if m is not None:
            s.set_field(PixelData(data=torch.from_numpy(
                m.astype(np.int64))[None]), key)
    if instances is not None:
        s.pred_instances = instances
    return s.to_dict()


def test_panoptic_quality_metric(tmp_path):
    """Toy (see _toy) + a perfect second image: sky TP 2, IoU 8/11 + 1;
    car TP 1 + 2, FP 1, FN 1, IoU 0.75 + 2."""
    pred_sem, pred_inst, gt_sem, gt_inst = _toy()
    metric = METRICS.build(dict(type='PanopticQualityMetric',
                                thing_classes=['car'],
                                output_dir=str(tmp_path)))
    metric.dataset_meta = dict(classes=('sky', 'car'))
    metric.process({}, [_sample('a', *_toy())])
    metric.process({}, [_sample('b', gt_sem, gt_inst, gt_sem, gt_inst)])
    m = metric.compute_metrics(metric.results)
    sky = (8 / 11 + 1) / 2
    car_pq, car_sq, car_rq = 2.75 / 4, 2.75 / 3, 3 / 4
    want = dict(PQ=(sky + car_pq) / 2, SQ=(sky + car_sq) / 2,
                RQ=(1 + car_rq) / 2, PQ_th=car_pq, SQ_th=car_sq,
                RQ_th=car_rq, PQ_st=sky, SQ_st=sky, RQ_st=1)
    assert m == {k: round(v * 100, 2) for k, v in want.items()}
    # COCO panoptic output: PNGs whose ids are the predicted segments
    with open(osp.join(tmp_path, 'panoptic_pred.json')) as f:
        out = json.load(f)
    assert [a['image_id'] for a in out['annotations']] == ['a', 'b']
    assert out['categories'] == [dict(id=0, name='sky', isthing=0),
                                 dict(id=1, name='car', isthing=1)]
    png = cv2.imread(osp.join(tmp_path, 'panoptic_pred', 'a.png'))
    id_map, seg = panoptic_segments(pred_sem, pred_inst, [1])
    np.testing.assert_array_equal(rgb2id(png[..., ::-1]), id_map)
    assert out['annotations'][0]['segments_info'] == coco_segments_info(
        id_map, seg)


def test_panoptic_quality_metric_rejects_bad_samples():
    metric = METRICS.build(dict(type='PanopticQualityMetric',
                                thing_classes=[1]))
    pred_sem, pred_inst, gt_sem, gt_inst = _toy()
    with pytest.raises(ValueError, match=r'pred_inst_seg.*/data/img/x\.jpg'):
        metric.process({}, [_sample('x', pred_sem, None, gt_sem, gt_inst)])
    with pytest.raises(ValueError, match=r'y\.jpg differ in size'):
        metric.process({}, [_sample('y', pred_sem[:4], pred_inst[:4],
                                    gt_sem, gt_inst)])
    named = METRICS.build(dict(type='PanopticQualityMetric',
                               thing_classes=['bus']))
    named.dataset_meta = dict(classes=('sky', 'car'))
    with pytest.raises(ValueError, match="'bus'"):
        named.process({}, [_sample('z', *_toy())])


def test_instance_ap_metric():
    """GT cars (class 1): inst 1 = rows 0-1 x cols 0-4 (10 px), inst 2 =
    rows 4-7 x cols 0-4 (20 px). Predictions: a car on the background
    (0.95), inst 1 exactly (0.9), 13 px of inst 2 (0.8, IoU 0.65).

    t <= 0.6: FP, TP, TP: precision 0, 1/2, 2/3 at recall 0, 1/2, 1 ->
    AP 2/3. t >= 0.7: FP, TP, FP -> precision 1/2 up to recall 1/2: 1/4.
    AP^r_vol over 0.1 .. 0.9: (6 * 2/3 + 3 * 1/4) / 9.
    """
    gt_sem = np.zeros((8, 10), np.uint8)
    gt_inst = np.zeros((8, 10), np.uint16)
    gt_sem[:2, :5], gt_inst[:2, :5] = 1, 1
    gt_sem[4:, :5], gt_inst[4:, :5] = 1, 2
    masks = np.zeros((3, 8, 10), bool)
    masks[0, :, 7:] = True
    masks[1] = gt_inst == 1
    masks[2, 4:6, :5] = True
    masks[2, 6, :3] = True
    instances = InstanceData(masks=torch.from_numpy(masks),
                             labels=torch.tensor([1, 1, 1]),
                             scores=torch.tensor([0.95, 0.9, 0.8]))
    metric = METRICS.build(dict(type='InstanceAPMetric'))
    metric.process({}, [_sample('a', gt_sem=gt_sem, gt_inst=gt_inst,
                                instances=instances)])
    assert metric.compute_metrics(metric.results) == {
        'APr@0.5': 66.67, 'APr@0.7': 25.0,
        'APr_vol': round((6 * 2 / 3 + 3 / 4) / 9 * 100, 2)}
    # from the predicted maps (score 1): a perfect prediction
    maps = METRICS.build(dict(type='InstanceAPMetric', one_to_one=False,
                              thresholds=(0.5, 0.9)))
    maps.process({}, [_sample('b', gt_sem, gt_inst, gt_sem, gt_inst)])
    assert maps.compute_metrics(maps.results) == {'APr@0.5': 100.0,
                                                  'APr_vol': 100.0}
    with pytest.raises(ValueError, match=r'pred_sem_seg.*c\.jpg'):
        maps.process({}, [_sample('c', gt_sem=gt_sem, gt_inst=gt_inst)])
    bad = InstanceData(masks=torch.from_numpy(masks[:, :4]),
                       labels=torch.tensor([1, 1, 1]),
                       scores=torch.tensor([0.95, 0.9, 0.8]))
    with pytest.raises(ValueError, match=r'd\.jpg has masks \(3, 4, 10\)'):
        metric.process({}, [_sample('d', gt_sem=gt_sem, gt_inst=gt_inst,
                                    instances=bad)])


# ------------------------------------------------- COCO panoptic output
def test_id2rgb_rgb2id_round_trip():
    ids = np.random.default_rng(0).integers(0, 1 << 24, (7, 9))
    rgb = id2rgb(ids)
    assert rgb.dtype == np.uint8 and rgb.shape == (7, 9, 3)
    np.testing.assert_array_equal(rgb2id(rgb), ids)
    np.testing.assert_array_equal(id2rgb(np.array([[0x123456]])),
                                  [[[0x56, 0x34, 0x12]]])
    with pytest.raises(ValueError, match='must lie in'):
        id2rgb(np.array([1 << 24]))


def test_to_coco_panoptic_segments_info():
    sem = np.array([[0, 0, 1, 1, 1],
                    [0, 2, 1, 1, IGN],
                    [0, 2, 2, 0, 0]], np.uint8)
    inst = np.array([[0, 0, 4, 4, 0],
                     [0, 9, 4, 4, 0],
                     [0, 9, 9, 0, 0]], np.uint16)
    rgb, info = to_coco_panoptic(sem, inst, [1, 2],
                                 category_ids={0: 200, 1: 1, 2: 18},
                                 crowd_ids=[9])
    # 0 (stuff, 6 px over x 0-4, y 0-2), instance 4 (class 1: (0, 2),
    # (0, 3), (1, 2), (1, 3)), instance 9 (class 2: (1, 1), (2, 1),
    # (2, 2)); (0, 4) (class 1, instance 0) and (1, 4) (255) are VOID
    assert info == [
        dict(id=1, category_id=200, area=6, bbox=[0, 0, 5, 3], iscrowd=0),
        dict(id=2, category_id=1, area=4, bbox=[2, 0, 2, 2], iscrowd=0),
        dict(id=3, category_id=18, area=3, bbox=[1, 1, 2, 2], iscrowd=1)]
    np.testing.assert_array_equal(rgb2id(rgb), [[1, 1, 2, 2, 0],
                                                [1, 3, 2, 2, 0],
                                                [1, 3, 3, 1, 1]])
    assert (rgb[..., 1:] == 0).all()


def test_mask_ious_with_no_prediction_or_no_ground_truth():
    from mmseg_wsss.algorithms.panoptic import mask_ious
    gt = np.zeros((2, 4, 5), bool)
    gt[0, :2] = gt[1, 2:] = True
    assert mask_ious(np.zeros((0, 4, 5), bool), gt).shape == (0, 2)
    assert mask_ious(gt, np.zeros((0, 4, 5), bool)).shape == (2, 0)


def test_instance_ap_metric_accepts_results_collected_as_plain_tuples():
    """mmengine's result collection turns the named tuples into tuples."""
    from mmseg_wsss.algorithms.panoptic import ImageInstances
    from mmseg_wsss.evaluation.metrics import InstanceAPMetric
    metric = InstanceAPMetric(thresholds=[0.5])
    one = ImageInstances(np.array([1]), np.array([0.9]), np.array([1]),
                         np.array([False]), np.array([[0.8]]))
    assert metric.compute_metrics([tuple(one)]) == {'APr@0.5': 100.0,
                                                    'APr_vol': 100.0}


def test_panoptic_output_overlays(tmp_path):
    """With output_dir and a palette, each prediction also gets an overlay
    image | semantic | segments (segment borders white)."""
    pred_sem, pred_inst, gt_sem, gt_inst = _toy()
    img_path = str(tmp_path / 'img.png')
    cv2.imwrite(img_path, np.full((*gt_sem.shape, 3), 90, np.uint8))
    metric = METRICS.build(dict(type='PanopticQualityMetric',
                                thing_classes=[1],
                                output_dir=str(tmp_path / 'out')))
    metric.dataset_meta = dict(classes=('sky', 'car'),
                               palette=[[0, 0, 255], [255, 0, 0]])
    sample = _sample('img', pred_sem, pred_inst, gt_sem, gt_inst)
    sample['img_path'] = img_path
    metric.process({}, [sample])
    panel = cv2.imread(str(tmp_path / 'out' / 'panoptic_overlays' /
                           'img.png'))
    h, w = gt_sem.shape
    assert panel.shape == (h, 3 * w, 3)
    assert (panel[:, :w] == 90).all()
    id_map, _ = panoptic_segments(pred_sem, pred_inst, [1])
    segs = panel[:, 2 * w:]
    edge = np.zeros_like(id_map, bool)
    edge[:, 1:] |= id_map[:, 1:] != id_map[:, :-1]
    edge[1:] |= id_map[1:] != id_map[:-1]
    assert (segs[edge] == 255).all() and not (segs[~edge] == 255).all(-1).any()
