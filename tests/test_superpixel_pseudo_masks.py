"""Scribble-to-superpixel pseudo-masks and wmIoU
(mmseg_wsss.algorithms.superpixels / .quality, Centroid Loss paper Sec.
IV-A / V-A)."""
import os

import cv2
import numpy as np
import pytest
import torch

from mmseg_wsss.algorithms.quality import (confusion_counts,
                                           miou_from_counts, weak_miou)
from mmseg_wsss.algorithms.superpixels import (pseudo_mask_from_scribbles,
                                               scribble_pseudo_mask,
                                               slico_superpixels)

IGN = 255


def _reference_pseudo_mask(scribble, superpixels, ignore=IGN):
    """Plain-loop version of the propagation rule."""
    out = np.full(scribble.shape, ignore, dtype=np.uint8)
    h, w = scribble.shape
    for sp_id in np.unique(superpixels):
        classes = set()
        for y in range(h):
            for x in range(w):
                if superpixels[y, x] == sp_id and scribble[y, x] != ignore:
                    classes.add(int(scribble[y, x]))
        if len(classes) == 1:
            cls = classes.pop()
            for y in range(h):
                for x in range(w):
                    if superpixels[y, x] == sp_id:
                        out[y, x] = cls
    for y in range(h):
        for x in range(w):
            if scribble[y, x] != ignore:
                out[y, x] = scribble[y, x]
    return out


def test_pseudo_mask_rule_by_hand():
    superpixels = np.array([[0, 0, 1, 1],
                            [0, 0, 1, 1],
                            [2, 2, 3, 3],
                            [2, 2, 3, 3]])
    scribble = np.array([[0, IGN, IGN, IGN],
                         [IGN, IGN, 1, 2],  # superpixel 1: classes 1 and 2
                         [IGN, IGN, IGN, IGN],  # superpixel 2: untouched
                         [IGN, IGN, IGN, 1]], dtype=np.uint8)
    expected = np.array([[0, 0, IGN, IGN],
                         [0, 0, 1, 2],
                         [IGN, IGN, 1, 1],
                         [IGN, IGN, 1, 1]], dtype=np.uint8)
    out = scribble_pseudo_mask(scribble, superpixels, num_classes=3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_pseudo_mask_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = rng.integers(1, 12, size=2)
        n_sp, num_classes = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        superpixels = rng.integers(0, n_sp, size=(h, w))
        scribble = rng.integers(0, num_classes, size=(h, w)).astype(np.uint8)
        scribble[rng.random((h, w)) < rng.uniform(0.5, 1.0)] = IGN
        np.testing.assert_array_equal(
            scribble_pseudo_mask(scribble, superpixels, num_classes),
            _reference_pseudo_mask(scribble, superpixels))


def test_pseudo_mask_rejects_bad_input():
    superpixels = np.zeros((2, 2), dtype=np.int32)
    with pytest.raises(ValueError):
        scribble_pseudo_mask(np.full((2, 2), 3, np.uint8), superpixels, 3)
    with pytest.raises(ValueError):
        scribble_pseudo_mask(np.full((2, 3), IGN, np.uint8), superpixels, 3)


def test_weak_miou_by_hand():
    full = np.array([[0, 0, 1, 1],
                     [0, IGN, 1, 1]], dtype=np.uint8)
    pseudo = np.array([[0, IGN, 1, 0],
                       [1, 0, IGN, 1]], dtype=np.uint8)
    # the pixel with full == IGN is skipped; pseudo IGN counts as wrong.
    # class 0: I = 1, |gt| = 3, |pred| = 2 -> U = 4 -> 0.25
    # class 1: I = 2, |gt| = 4, |pred| = 3 -> U = 5 -> 0.4
    # class 2: in neither -> not averaged
    inter, union = confusion_counts(pseudo, full, num_classes=3)
    assert inter.tolist() == [1, 2, 0] and union.tolist() == [4, 5, 0]
    assert weak_miou(pseudo, full, 3) == pytest.approx((0.25 + 0.4) / 2)
    # dataset level: counts add up over images
    full2 = np.array([[2, 2]], dtype=np.uint8)
    pseudo2 = np.array([[2, 0]], dtype=np.uint8)
    i2, u2 = confusion_counts(pseudo2, full2, 3)  # c0: 0/1, c2: 1/2
    total = miou_from_counts(inter + i2, union + u2)
    assert total == pytest.approx((1 / 5 + 2 / 5 + 1 / 2) / 3)
    assert np.isnan(weak_miou(pseudo2, np.full((1, 2), IGN, np.uint8), 3))
    assert weak_miou(full, full, 3) == 1.0


def _two_region_image():
    rng = np.random.default_rng(0)
    full = np.zeros((96, 128), dtype=np.uint8)
    full[:, 64:] = 1
    img = np.where(full[..., None] == 1, 190, 50) + rng.integers(
        -15, 16, size=(96, 128, 3))
    return img.astype(np.uint8), full


def test_slico_superpixels_follow_a_strong_edge():
    img, full = _two_region_image()
    labels = slico_superpixels(img, n_segments=30)
    assert labels.dtype == np.int32 and labels.shape == full.shape
    ids = np.unique(labels)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    assert 10 <= len(ids) <= 60
    for sp_id in ids:  # no superpixel straddles the two regions
        assert len(np.unique(full[labels == sp_id])) == 1


def test_pseudo_mask_from_scribbles_two_regions():
    img, full = _two_region_image()
    scribble = np.full_like(full, IGN)
    scribble[10:86, 30:34] = 0
    scribble[10:86, 94:98] = 1
    pseudo = pseudo_mask_from_scribbles(img, scribble, 30, num_classes=2)
    labelled = pseudo != IGN
    assert np.array_equal(pseudo[labelled], full[labelled])
    assert labelled.sum() > 4 * (scribble != IGN).sum()
    # no wrong pixel: the IoU of each class is its coverage |pseudo==c|/|c|
    coverage = [(pseudo == c).sum() / (full == c).sum() for c in (0, 1)]
    assert weak_miou(pseudo, full, 2) == pytest.approx(np.mean(coverage))


def test_superpixel_cache_is_exact_and_computes_once(tmp_path, monkeypatch):
    """The pipeline's pseudo-masks with the cache equal a fresh SLICO
    computation for every draw; each image is segmented once per process,
    and an on-disk cache serves a new process (transform) without any."""
    import mmseg_wsss.datasets.transforms.pseudo_labels as module
    from mmseg.registry import DATASETS

    from conftest import full_dataset_cfg, shared_root
    calls = []
    real = module.slico_superpixels

    def counted(img, n_segments, **kwargs):
        calls.append(img.shape)
        return real(img, n_segments, **kwargs)

    monkeypatch.setattr(module, 'slico_superpixels', counted)
    pipeline = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=['scribble']),
        dict(type='ScribbleSuperpixelPseudoMask', n_segments=50,
             cache_dir=str(tmp_path / 'sp')),
        dict(type='PackWeakSegInputs', target='pseudo'),
    ]
    ds = DATASETS.build(full_dataset_cfg(shared_root('neu_seg'),
                                         pipeline=pipeline))
    for _ in range(3):  # three epochs over 4 images
        for i in range(4):
            sample = ds[i]['data_samples']
            img = cv2.imread(sample.img_path)[..., ::-1]
            scr = cv2.imread(ds.get_data_info(i)['scribble_path'],
                             cv2.IMREAD_UNCHANGED)
            expect = pseudo_mask_from_scribbles(img.copy(), scr, 50, 4)
            assert torch.equal(sample.gt_sem_seg.data[0],
                               torch.from_numpy(expect.astype(np.int64)))
    assert len(calls) == 4  # once per image, not once per draw
    assert len(os.listdir(tmp_path / 'sp' / 'slico-v1' / 'n50')) == 4
    fresh = DATASETS.build(full_dataset_cfg(shared_root('neu_seg'),
                                            pipeline=pipeline))
    fresh[0]
    assert len(calls) == 4  # served from disk
