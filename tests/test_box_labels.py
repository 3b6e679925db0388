"""Approximate ground truth from boxes and tags (panoptic paper §3.2-3.4):
mmseg_wsss.algorithms.box_labels against hand-drawn maps and brute force."""
import numpy as np
import pytest

from mmseg_wsss.algorithms import box_labels as bl


def test_box_mask_is_the_pixel_centre_rule():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x1, x2 = np.sort(rng.uniform(-1, 13, 2))
        y1, y2 = np.sort(rng.uniform(-1, 11, 2))
        box = np.array([x1, y1, x2, y2])
        want = np.array([[x1 <= x + 0.5 <= x2 and y1 <= y + 0.5 <= y2
                          for x in range(12)] for y in range(10)])
        assert (bl.box_mask(box, (10, 12)) == want).all()
        x0, y0, xe, ye = bl._pixel_box(box, (10, 12))
        assert want[y0:ye, x0:xe].all() and want.sum() == max(
            xe - x0, 0) * max(ye - y0, 0)


def test_hand_drawn_boxes_smaller_wins_and_same_class_overlap_is_void():
    """A (class 1) and B (class 2) of equal area, then the small C (class
    1) inside A: painted largest first, so B covers A where they meet and
    C covers both; instances: where C meets A (same class) the id is 0,
    where C meets B (other class) it is C's."""
    img = np.zeros((10, 10, 3), np.uint8)
    boxes = [[0, 0, 6, 6], [4, 4, 10, 10], [1, 1, 5, 5]]
    out = bl.box_pseudo_labels(img, boxes, [1, 2, 1], estimators=['box'])
    sem = np.zeros((10, 10), np.uint8)
    sem[0:6, 0:6] = 1
    sem[4:10, 4:10] = 2
    sem[1:5, 1:5] = 1
    inst = np.zeros((10, 10), np.uint16)
    inst[0:6, 0:6] = 1
    inst[4:10, 4:10] = 2
    inst[1:5, 1:5] = 0  # C over A: ambiguous instance
    inst[4, 4] = 3  # C over B: C's
    assert (out.semantic == sem).all()
    assert (out.instances == inst).all()


def test_foregrounds_intersect_inside_boxes_are_ignored_outside_bg():
    img = np.zeros((8, 8, 3), np.uint8)
    box = np.array([[1, 1, 7, 7]], float)
    a = np.zeros((8, 8), bool)
    a[1:7, 1:5] = True
    b = np.zeros((8, 8), bool)
    b[1:7, 3:7] = True
    fgs = dict(grabcut=[a], proposals=[b])
    out = bl.box_pseudo_labels(img, box, [3], foregrounds=fgs)
    want = np.zeros((8, 8), np.uint8)
    want[1:7, 1:7] = 255
    want[1:7, 3:5] = 3
    assert (out.semantic == want).all()
    assert (out.instances == (want == 3)).all()
    alone = bl.box_pseudo_labels(img, box, [3], estimators=['grabcut'],
                                 foregrounds=fgs, outside='ignore')
    want = np.full((8, 8), 255, np.uint8)
    want[1:7, 1:5] = 3
    assert (alone.semantic == want).all()
    with pytest.raises(ValueError, match='unknown foreground estimators'):
        bl.box_pseudo_labels(img, box, [3], estimators=['mcg'])
    with pytest.raises(ValueError, match='outside'):
        bl.box_pseudo_labels(img, box, [3], outside='void')
    empty = bl.box_pseudo_labels(img, np.zeros((0, 4)), [], bg_index=0)
    assert (empty.semantic == 0).all() and (empty.instances == 0).all()


def _disc_image(seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 30) ** 2 + (xx - 34) ** 2 <= 14 ** 2
    img = rng.normal(200, 12, (64, 64, 3))
    img[disc] = rng.normal((40, 60, 150), 12, (disc.sum(), 3))
    return np.clip(img, 0, 255).astype(np.uint8), disc


def test_grabcut_finds_the_object_in_its_box_reproducibly():
    img, disc = _disc_image()
    box = np.array([18, 14, 50, 46], float)  # the disc's box, 2 px margin
    fg = bl.grabcut_foreground(img, box)
    iou = (fg & disc).sum() / (fg | disc).sum()
    assert iou > 0.9, iou
    assert not (fg & ~bl.box_mask(box, img.shape)).any()
    assert (bl.grabcut_foreground(img, box) == fg).all()
    # a box covering the image, and a 1-pixel box: the box itself
    whole = np.array([0, 0, 64, 64], float)
    assert bl.grabcut_foreground(img, whole).all()
    thin = np.array([5, 5, 6, 20], float)
    assert (bl.grabcut_foreground(img, thin)
            == bl.box_mask(thin, img.shape)).all()


def _brute_proposal(segs, box, shape, inside):
    inbox = bl.box_mask(box, shape)
    best, best_iou = None, -1.0
    for seg in segs:
        cands = [seg == s for s in range(seg.max() + 1)]
        union = np.zeros(shape, bool)
        for c in cands:
            if c.any() and (c & inbox).sum() >= inside * c.sum():
                union |= c
        if union.any():
            cands.append(union)
        for c in cands:
            iou = (c & inbox).sum() / (c | inbox).sum()
            if iou > best_iou:
                best, best_iou = c, iou
    return best & inbox


def test_proposal_foreground_matches_brute_force_candidates():
    rng = np.random.default_rng(1)
    img = np.zeros((12, 14, 3), np.uint8)
    for _ in range(40):
        segs = [rng.integers(0, k, (12, 14)) for k in (3, 6)]
        # blocky segments, as a segmentation gives
        segs = [np.kron(s[:6, :7], np.ones((2, 2), int)) for s in segs]
        x1, x2 = np.sort(rng.uniform(0, 14, 2))
        y1, y2 = np.sort(rng.uniform(0, 12, 2))
        box = np.array([x1, y1, x2 + 1, y2 + 1])
        for inside in (0.9, 0.5):
            got = bl.proposal_foreground(img, box, segs, inside=inside)
            assert (got == _brute_proposal(segs, box, (12, 14),
                                           inside)).all()


def test_proposals_on_a_real_segmentation_find_the_disc():
    img, disc = _disc_image(2)
    box = np.array([18, 14, 50, 46], float)
    fg = bl.proposal_foreground(img, box, bl.segment_hierarchy(img))
    assert (fg & disc).sum() / (fg | disc).sum() > 0.8


def test_tag_labels_threshold_and_smaller_area_wins():
    cams = np.zeros((4, 4, 6))
    cams[1] = [[1.0] * 6] * 2 + [[0.6] * 6] + [[0.2] * 6]  # 18 px >= 0.5
    cams[2, 1:3, 0:2] = [[0.8, 1.0], [0.9, 0.1]]  # 3 px, inside class 1
    cams[3] = 0.9  # untagged: never used
    out = bl.tag_pseudo_labels(cams, [1, 2], threshold=0.5)
    want = np.full((4, 6), 255, np.uint8)
    want[:3] = 1
    want[1, 0:2] = want[2, 0] = 2
    assert (out == want).all()
    bg = bl.tag_pseudo_labels(cams, [0, 1, 2], threshold=0.5, background=0)
    want[want == 255] = 0
    assert (bg == want).all()


def test_clamp_things_outside_their_boxes():
    labels = np.array([[1, 1, 2, 2],
                       [1, 1, 2, 2],
                       [0, 1, 2, 3]], np.uint8)
    boxes = [[0, 0, 2, 2], [2, 0, 4, 3]]
    out = bl.clamp_to_boxes(labels, boxes, [1, 2], thing_classes=[1, 2, 3])
    want = labels.copy()
    want[2, 1] = 255  # class 1 below its box
    want[2, 3] = 255  # class 3 has no box
    assert (out == want).all()
    assert (bl.clamp_to_boxes(labels, boxes, [1, 2], [1, 2, 3], fill=0)
            == np.where(want == 255, 0, want)).all()


def test_label_writer_box_prior_clamps_before_saving_and_measuring(tmp_path):
    import cv2
    import torch
    from mmengine.structures import InstanceData, PixelData
    from mmseg.structures import SegDataSample

    from mmseg_wsss.apis import LabelWriter, box_prior
    from mmseg_wsss.datasets import WeakAnnotationError
    labels = np.array([[1, 1, 2, 2],
                       [1, 1, 2, 2],
                       [0, 1, 2, 3]], np.uint8)
    full = labels.copy()
    full[2, 1] = 0
    sample = SegDataSample(metainfo=dict(img_path='x.jpg', ori_shape=(3, 4)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[0., 0., 2., 2.], [2., 0., 4., 3.]]),
        labels=torch.tensor([1, 2]))
    sample.gt_full_sem_seg = PixelData(data=torch.from_numpy(full)[None])
    writer = LabelWriter(str(tmp_path), postprocess=box_prior([1, 2, 3]))
    writer.write('a', sample, labels)
    saved = cv2.imread(str(tmp_path / 'a.png'), cv2.IMREAD_UNCHANGED)
    want = labels.copy()
    want[2, 1] = want[2, 3] = 255
    assert (saved == want).all()
    # measured after the prior: the 10 labelled pixels are all right
    assert writer.quality.scores()['precision'] == 1.0
    del sample.gt_instances
    with pytest.raises(WeakAnnotationError, match="load 'boxes'"):
        writer.write('b', sample, labels)
