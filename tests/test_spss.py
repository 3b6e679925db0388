"""SPSS / SPSS+ (semantic proportions): losses against hand-computed values,
the segmentor's loss against a manual recomputation, patch tiling,
proportion degradations and the per-class metric."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from conftest import REPO
from mmseg_wsss.algorithms.proportions import (cluster_proportions,
                                               noisy_proportions, tile_boxes)
from mmseg_wsss.algorithms.weak_labels import class_proportions
from mmseg_wsss.evaluation.metrics import WSSSIoUMetric
from mmseg_wsss.models.losses.proportion_losses import (keypoint_bce_loss,
                                                      masked_gap,
                                                      proportion_loss)

PY = sys.executable


# ---------------------------------------------------------------- losses
def _probs():
    c0 = torch.tensor([[0.2, 0.4], [0.6, 0.8]])
    return torch.stack([c0, 1 - c0])[None]  # (1, 2, 2, 2)


def test_masked_gap_ignores_padding():
    valid = torch.tensor([[[True, True], [True, False]]])
    rho = masked_gap(_probs(), valid)
    assert torch.allclose(rho, torch.tensor([[0.4, 0.6]]))


def test_proportion_loss_is_eq1():
    pred = torch.tensor([[0.4, 0.6], [0.5, 0.5]])
    target = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    # (0.01 + 0.01 + 0.25 + 0.25) / 2 images
    assert proportion_loss(pred, target).item() == pytest.approx(0.26)


def test_keypoint_bce_hand_computed():
    log_probs = torch.cat([_probs(), _probs()]).log().requires_grad_()
    points = torch.full((2, 2, 2), 255)
    points[0, 0, 0] = points[0, 0, 1] = 0  # p0 = 0.2, 0.4
    points[0, 1, 0] = 1  # p1 = 0.4
    # image 1 has no keypoint: it is left out of the mean
    expected = -(math.log(0.2) + math.log(0.4)) / 2 - math.log(0.4)
    loss = keypoint_bce_loss(log_probs, points)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(log_probs.grad).all()


def test_keypoint_bce_binary_sigmoid_is_bce():
    logits = torch.tensor([[[[2.0, -1.0], [0.5, 3.0]]]])
    log_probs = torch.cat([F.logsigmoid(-logits), F.logsigmoid(logits)], 1)
    points = torch.tensor([[[1, 0], [255, 0]]])
    # eq. (2) with Y* = 1 (class 1) and Y* = 0 (class 0) on one map;
    # per class mean, summed over the classes
    s = torch.sigmoid(logits)[0, 0]
    expected = -math.log(s[0, 0]) - (math.log(1 - s[0, 1]) +
                                     math.log(1 - s[1, 1])) / 2
    assert keypoint_bce_loss(log_probs, points).item() == pytest.approx(
        expected, rel=1e-6)


def test_keypoint_bce_ignores_saturated_log_probs_off_the_points():
    # the docstring's recipe (log(1 - s), log(s)) for a sigmoid s: a
    # saturated s = 1 gives log(1 - s) = -inf where no keypoint is
    logits = torch.tensor([[[[200.0, -1.0]]]], requires_grad=True)
    s = torch.sigmoid(logits)
    log_probs = torch.cat([torch.log(1 - s), torch.log(s)], 1)
    log_probs.retain_grad()
    assert torch.isinf(log_probs[0, 0, 0, 0])
    points = torch.tensor([[[255, 1]]])
    loss = keypoint_bce_loss(log_probs, points)
    assert loss.item() == pytest.approx(-math.log(torch.sigmoid(
        torch.tensor(-1.0)).item()), rel=1e-6)
    loss.backward()
    assert torch.isfinite(log_probs.grad).all()
    assert log_probs.grad[0, :, 0, 0].eq(0).all()


def test_keypoint_bce_without_points_is_zero_with_graph():
    log_probs = torch.zeros(2, 3, 4, 4, requires_grad=True)
    loss = keypoint_bce_loss(log_probs, torch.full((2, 4, 4), 255))
    assert loss.item() == 0
    loss.backward()
    assert log_probs.grad is not None


# ------------------------------------------------------------- segmentor
def _model(config, **overrides):
    cfg = Config.fromfile(osp.join(REPO, 'configs/spss', config))
    cfg.model.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()  # eval: BN is deterministic


def _samples(num_classes, shapes, size=32):
    samples = []
    g = torch.Generator().manual_seed(1)
    for h, w in shapes:
        props = torch.rand(num_classes, generator=g)
        s = SegDataSample(gt_proportions=props / props.sum())
        pts = torch.full((1, size, size), 255)
        pts[0, 3, 5], pts[0, 10, 12] = 1, 0
        s.gt_points = PixelData(data=pts)
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w),
                            pad_shape=(size, size),
                            padding_size=[0, size - w, 0, size - h],
                            sample_key=f'train/{h}x{w}'))
        samples.append(s)
    return samples


def test_spss_loss_matches_manual_gap_softmax():
    model = _model('spss_unet-s5_1k_dubai-aerial-112x112.py')
    inputs = torch.rand(2, 3, 32, 32)
    samples = _samples(6, [(32, 32), (16, 24)])  # second image padded
    losses = model.loss(inputs, samples)
    logits = model.decode_head.forward(model.extract_feat(inputs))
    probs = logits.softmax(1)
    rho = torch.stack([probs[0].mean((1, 2)),
                       probs[1, :, :16, :24].mean((1, 2))])
    target = torch.stack([s.gt_proportions for s in samples])
    expected = ((rho - target)**2).sum(1).mean()
    assert set(losses) == {'loss_sp'}
    assert losses['loss_sp'].item() == pytest.approx(expected.item(),
                                                     rel=1e-5)
    losses['loss_sp'].backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_spss_plus_binary_sigmoid_loss():
    model = _model('spss-plus_unet-s5_1k_isbi-em-256x256.py')
    assert model.decode_head.out_channels == 1
    assert [loss.loss_weight for loss in model.loss_weak] == [0.5, 0.5]
    inputs = torch.rand(2, 3, 32, 32)
    samples = _samples(2, [(32, 32), (32, 32)])
    losses = model.loss(inputs, samples)
    s = torch.sigmoid(model.decode_head.forward(model.extract_feat(inputs)))
    target = torch.stack([x.gt_proportions[1] for x in samples])
    l_sp = ((s.mean((1, 2, 3)) - target)**2).mean()
    # keypoints: class 1 at (3, 5), class 0 at (10, 12) in both images
    l_sk = -(s[:, 0, 3, 5].log() + (1 - s[:, 0, 10, 12]).log()).mean()
    assert losses['loss_sp'].item() == pytest.approx(0.5 * l_sp.item(),
                                                     rel=1e-5)
    assert losses['loss_sk'].item() == pytest.approx(0.5 * l_sk.item(),
                                                     rel=1e-5)
    pred = model.predict(inputs, samples)
    assert set(pred[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_spss_needs_its_annotations():
    model = _model('spss-plus_unet-s5_1k_isbi-em-256x256.py')
    samples = _samples(2, [(32, 32)])
    del samples[0].gt_points
    with pytest.raises(KeyError, match="load 'points'"):
        model.loss(torch.rand(1, 3, 32, 32), samples)
    del samples[0].gt_proportions
    with pytest.raises(KeyError, match="load 'proportions'"):
        model.loss(torch.rand(1, 3, 32, 32), samples)
    with pytest.raises(ValueError, match="'proportion' is read by a loss"):
        _model('spss_unet-s5_1k_dubai-aerial-112x112.py',
               loss_weak=[dict(type='ProportionLoss', target='proportion')])
    # the head's cross-entropy has no gt_sem_seg to train on: an error, not
    # a loss that silently never runs
    model = _model('spss_unet-s5_1k_dubai-aerial-112x112.py', decode_head=dict(
        loss_decode=dict(type='CrossEntropyLoss')))
    with pytest.raises(ValueError, match="loss_decode \\(\\['CrossEntropyLoss"):
        model.loss(torch.rand(1, 3, 32, 32), _samples(6, [(32, 32)]))


# --------------------------------------------------------------- tiling
@pytest.mark.parametrize('h,w,size,stride',
                         [(32, 32, 16, 0), (50, 37, 16, 0), (40, 40, 16, 12),
                          (10, 30, 16, 0)])
def test_tile_boxes_cover_the_image_with_full_tiles(h, w, size, stride):
    boxes = tile_boxes(h, w, size, stride)
    cover = np.zeros((h, w), int)
    for y0, x0, y1, x1 in boxes:
        assert (y1 - y0, x1 - x0) == (min(size, h), min(size, w))
        assert 0 <= y0 and y1 <= h and 0 <= x0 and x1 <= w
        cover[y0:y1, x0:x1] += 1
    assert cover.min() >= 1
    assert len(set(boxes)) == len(boxes)
    if stride == 0 and h % size == 0 and w % size == 0:
        assert cover.max() == 1


def test_tile_dataset_tool(tiny_root, tmp_path):
    ann0 = osp.join(tiny_root, 'ann_dir/train/000.png')
    mask = cv2.imread(ann0, cv2.IMREAD_UNCHANGED)
    mask[:16, :16] = 255  # this tile has nothing to state: left out
    cv2.imwrite(ann0, mask)
    dst = tmp_path / 'tiles'
    cmd = [PY, 'tools/dataset/tile_dataset.py', tiny_root, str(dst),
           '--size', '16', '--splits', 'train', '--nproc', '2']
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    props = json.load(open(dst / 'weak/proportions.json'))
    assert len(props) == 4 * 4 - 1 and 'train/000_y0000_x0000' not in props
    meta = json.load(open(dst / 'meta.json'))
    assert meta['classes'] == ['bg', 'a', 'b']
    assert meta['tiling']['size'] == 16 and meta['counts'] == {'train': 15}
    key = 'train/001_y0016_x0016'
    stem = key.split('/')[1]
    src_mask = cv2.imread(osp.join(tiny_root, 'ann_dir/train/001.png'),
                          cv2.IMREAD_UNCHANGED)
    assert props[key] == pytest.approx(
        class_proportions(src_mask[16:, 16:], 3).tolist(), abs=1e-6)
    for sub in ('ann_dir', 'weak/points', 'weak/scribbles_w20'):
        src = cv2.imread(osp.join(tiny_root, sub, 'train/001.png'),
                         cv2.IMREAD_UNCHANGED)
        tile = cv2.imread(str(dst / sub / 'train' / f'{stem}.png'),
                          cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(tile, src[16:, 16:])
    # the dataset reads the tiles with their own proportions and points
    ds = DATASETS.build(dict(
        type='WeakSegDataset', data_root=str(dst), img_suffix='.png',
        data_prefix=dict(img_path='img_dir/train',
                         point_path='weak/points/train'),
        proportions_file='weak/proportions.json',
        pipeline=[dict(type='LoadCheckedImageFromFile'),
                  dict(type='LoadWeakAnnotations',
                       annotations=['proportions', 'points']),
                  dict(type='PackWeakSegInputs', target=None)]))
    assert len(ds) == 15
    sample = ds[0]['data_samples']
    assert sample.gt_points.data.shape[-2:] == (16, 16)
    assert sample.gt_proportions.sum().item() == pytest.approx(1, abs=1e-5)
    # resumable: a missing tile is rewritten, the others are kept
    gone = dst / 'img_dir/train' / f'{stem}.png'
    kept = dst / 'img_dir/train/002_y0000_x0000.png'
    os.remove(gone)
    before = kept.stat().st_mtime_ns
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    assert gone.is_file() and kept.stat().st_mtime_ns == before


def test_tile_dataset_tool_names_a_bad_map(tiny_root, tmp_path):
    bad = osp.join(tiny_root, 'weak/points/train/002.png')
    cv2.imwrite(bad, np.zeros((20, 20), np.uint8))
    proc = subprocess.run(
        [PY, 'tools/dataset/tile_dataset.py', tiny_root, str(tmp_path / 't'),
         '--size', '16', '--splits', 'train', '--nproc', '1'],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert '002.png' in proc.stderr and 'differs from the image' in \
        proc.stderr
    assert not (tmp_path / 't' / 'weak' / 'proportions.json').exists()


# ---------------------------------------------------------- degradations
def test_noisy_proportions_softmax_renormalisation():
    rng = np.random.default_rng(0)
    out = noisy_proportions(np.array([[0.9, 0.1]]), 0.0, rng)
    e = math.exp(0.8)
    assert out[0] == pytest.approx([e / (e + 1), 1 / (e + 1)])  # 0.69/0.31
    props = np.random.default_rng(1).dirichlet(np.ones(4), size=50)
    noisy = noisy_proportions(props, 0.3, np.random.default_rng(2))
    assert noisy.sum(1) == pytest.approx(np.ones(50))
    assert (noisy > 0).all()
    again = noisy_proportions(props, 0.3, np.random.default_rng(2))
    np.testing.assert_array_equal(noisy, again)


def test_cluster_proportions_assigns_one_member_per_cluster():
    rng = np.random.default_rng(0)
    centres = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    props = np.repeat(centres, 20, 0) + rng.normal(0, 0.01, (60, 3))
    out, labels = cluster_proportions(props, 3, rng)
    for c in np.unique(labels):
        rows = out[labels == c]
        assert (rows == rows[0]).all()  # one value per cluster ...
        members = props[labels == c]
        assert (members == rows[0]).all(1).any()  # ... from a member
    # the three well-separated groups are recovered
    assert len(np.unique(labels)) == 3
    assert all(len(np.unique(labels[i * 20:(i + 1) * 20])) == 1
               for i in range(3))
    with pytest.raises(ValueError, match='k must be'):
        cluster_proportions(props, 61, rng)


def test_degrade_tool_touches_the_training_split_only(tmp_path):
    table = {f'train/{i}': [0.5, 0.3, 0.2] if i % 2 else [0.1, 0.1, 0.8]
             for i in range(10)}
    table['val/0'] = [0.2, 0.2, 0.6]
    src, dst = tmp_path / 'p.json', tmp_path / 'q.json'
    src.write_text(json.dumps(table))
    subprocess.run([PY, 'tools/dataset/degrade_proportions.py', str(src),
                    str(dst), '--clusters', '2'], cwd=REPO, check=True,
                   capture_output=True)
    out = json.loads(dst.read_text())
    assert out['val/0'] == table['val/0']
    assert {tuple(v) for k, v in out.items() if k.startswith('train/')} \
        <= {(0.5, 0.3, 0.2), (0.1, 0.1, 0.8)}
    subprocess.run([PY, 'tools/dataset/degrade_proportions.py', str(src),
                    str(dst), '--noise', '0.1'], cwd=REPO, check=True,
                   capture_output=True)
    out = json.loads(dst.read_text())
    assert out['val/0'] == table['val/0']
    assert all(out[k] != table[k] for k in table if k.startswith('train/'))
    assert all(abs(sum(v) - 1) < 1e-5 for v in out.values())


# --------------------------------------------------------------- metric
def test_classwise_metric_values():
    metric = WSSSIoUMetric(classwise=True)
    metric.dataset_meta = dict(classes=('a', 'b'))
    t = torch.tensor
    # per class: intersection, union, predicted area, label area
    results = [(t([3., 1.]), t([5., 3.]), t([4., 2.]), t([4., 2.]))]
    m = metric.compute_metrics(results)
    assert m['IoU.a'] == 60.0 and m['IoU.b'] == pytest.approx(33.33)
    assert m['Precision.a'] == 75.0 and m['Recall.b'] == 50.0
    assert m['Fscore.a'] == 75.0 and m['Acc.b'] == 50.0
    assert m['mIoU'] == pytest.approx((60 + 33.33) / 2, abs=0.01)


# ------------------------------------------------- crops and proportions
def _proportions_dataset(root, transforms):
    return DATASETS.build(dict(
        type='WeakSegDataset', data_root=root,
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        proportions_file='weak/proportions.json',
        pipeline=[dict(type='LoadCheckedImageFromFile'),
                  dict(type='LoadWeakAnnotations',
                       annotations=['full', 'proportions']), *transforms,
                  dict(type='PackWeakSegInputs', target='full')]))


def test_foreign_crop_cannot_pair_a_crop_with_image_proportions(tiny_root):
    ds = _proportions_dataset(tiny_root, [dict(type='RandomCrop',
                                               crop_size=(16, 16))])
    with pytest.raises(Exception, match='proportions describe a 32x32 '
                       'image but the pipeline made it 16x16'):
        ds[0]
    # rescales keep the whole region; a recomputing crop re-states it
    ds = _proportions_dataset(tiny_root, [
        dict(type='WeakRandomRescale', ratio_range=(0.5, 2.0)),
        dict(type='WeakRandomCrop', crop_size=(12, 12),
             proportions='recompute'),
        dict(type='WeakRandomFlip', prob=0.5)])
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        full = sample.gt_sem_seg.data[0].numpy()
        assert sample.gt_proportions.numpy() == pytest.approx(
            class_proportions(full, 3), abs=1e-6)


def test_spss_on_mmseg_resnet_aspp():
    """SPSS on MMSeg's ResNetV1c-18 + ASPP (stride 8): the /8 class maps are
    upsampled before the GAP, gradients reach the backbone, and inference
    gives full-size class maps."""
    model = _model('spss_r18-d8-aspp_1k_dubai-aerial-112x112.py',
                   backbone=dict(init_cfg=None))
    inputs = torch.rand(2, 3, 32, 32)
    samples = _samples(6, [(32, 32), (24, 32)])
    losses = model.loss(inputs, samples)
    raw = model.decode_head.forward(model.extract_feat(inputs))
    assert raw.shape == (2, 6, 4, 4)  # stride 8
    probs = F.interpolate(raw, size=(32, 32), mode='bilinear',
                          align_corners=False).softmax(1)
    rho = torch.stack([probs[0].mean((1, 2)),
                       probs[1, :, :24].mean((1, 2))])
    target = torch.stack([s.gt_proportions for s in samples])
    assert losses['loss_sp'].item() == pytest.approx(
        ((rho - target)**2).sum(1).mean().item(), rel=1e-5)
    losses['loss_sp'].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    pred = model.predict(inputs, samples)
    assert pred[1].pred_sem_seg.data.shape[-2:] == (24, 32)
