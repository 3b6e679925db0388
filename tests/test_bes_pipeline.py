"""The BES pipeline (§3.1, §4.1): the per-image composition on hand-built
cases, and tools/dataset/make_bes_labels.py end to end on the tiny set:
both stages, resume, bad inputs, a dataset without full masks, and a short
BENet training on the tool's boundary labels."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pydensecrf.densecrf as dcrf
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmseg.registry import DATASETS, MODELS
from pydensecrf.utils import unary_from_labels
from scipy import ndimage

import mmseg_wsss.algorithms.random_walk as rw
from conftest import REPO, full_dataset_cfg, write_tiny_dataset
from mmseg_wsss.algorithms import (PSEUDO_LABEL_CRF, LabelQuality,
                                   bes_pseudo_labels, boundary_labels,
                                   cam_labels, gt_boundaries, seed_quality,
                                   weak_miou)
from mmseg_wsss.algorithms.boundaries import REGION_BOUNDARY
from mmseg_wsss.algorithms.crf import dense_crf_labels
from mmseg_wsss.engine.hooks import DatasetCheckHook

PY = sys.executable
TOOL = osp.join(REPO, 'tools/dataset/make_bes_labels.py')
CAM_CFG = osp.join(REPO, 'configs/bes/cam-attn_r18-d8_1k_neu-seg-160x160.py')
BENET_CFG = osp.join(REPO,
                     'configs/bes/bes-benet_r18-d8_1k_neu-seg-128x128.py')


# ------------------------------------------------------ hand-built case
def _two_regions(seed=0):
    """Two objects (classes 1, 2) on background, a noisy image with one
    grey level per region, and CAMs covering only the objects' cores (the
    blurred masks eroded by 7 px: "most discriminative parts"), each
    divided by its maximum (eq. 8); channel 0 is CAMClassifier's 1 - max."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((64, 80), np.uint8)
    mask[8:40, 6:36] = 1
    mask[24:58, 46:74] = 2
    grey = np.choose(mask, [110, 200, 60])
    img = (grey[..., None] + rng.integers(0, 25, (64, 80, 3))).astype(
        np.uint8)
    cams = np.zeros((3, 64, 80))
    for c in (1, 2):
        core = ndimage.binary_erosion(mask == c, iterations=7)
        blurred = ndimage.gaussian_filter(core.astype(float), 4)
        cams[c] = blurred / blurred.max()
    cams[0] = 1 - cams[1:].max(0)
    return img, cams, mask


def test_walk_and_crf_beat_the_cam_with_an_oracle_boundary():
    """Table 1's rows on one image: the CAM covers the objects' cores, the
    random walk spreads them up to the (oracle) boundary, the CRF snaps
    the rest to the image; without a boundary the walk floods the image."""
    img, cams, mask = _two_regions()
    oracle = gt_boundaries(mask).astype(np.float64)
    out = bes_pseudo_labels(cams, [0, 1, 2], oracle, img)
    miou = {k: weak_miou(v, mask, 3) for k, v in out._asdict().items()}
    # measured: cam 0.559, walk 0.789, final 1.000
    assert miou['cam'] < 0.6
    assert miou['walk'] > miou['cam'] + 0.15
    assert miou['final'] > 0.95
    # the boundary is what stops the walk: none, and it floods the image
    blind = bes_pseudo_labels(cams, [0, 1, 2], np.zeros_like(oracle), img)
    assert weak_miou(blind.walk, mask, 3) < miou['cam'] - 0.3
    # an untagged class is never labelled, and the CAM stage is the arg-max
    # over a constant background score and the tagged CAMs
    only1 = bes_pseudo_labels(cams, [0, 1], oracle, img)
    assert not any((m == 2).any() for m in only1)
    expect = np.where(cams[1:].max(0) > 0.25, cams[1:].argmax(0) + 1, 0)
    assert np.array_equal(out.cam, expect)
    assert out.final.dtype == np.uint8 and out.final.shape == mask.shape


def test_strided_boundary_and_image_size_boundary_agree():
    """An image-size boundary is max-pooled to stride 4: a one-pixel line
    keeps its strength, and passing the pooled map gives the same labels."""
    img, cams, mask = _two_regions()
    oracle = gt_boundaries(mask).astype(np.float64)
    pooled = rw.pool_to_stride(oracle, 4, 'max')
    assert pooled.shape == rw.strided_size(mask.shape, 4) == (16, 20)
    full = bes_pseudo_labels(cams, [0, 1, 2], oracle, img, crf=None)
    small = bes_pseudo_labels(cams, [0, 1, 2], pooled, img, crf=None)
    assert np.array_equal(full.walk, small.walk)
    assert np.array_equal(full.final, full.walk)  # crf=None: no CRF
    with pytest.raises(ValueError, match='neither the image size'):
        bes_pseudo_labels(cams, [0, 1, 2], oracle[:30], img)


def test_pool_to_stride_by_hand():
    maps = np.arange(30, dtype=float).reshape(5, 6)
    # blocks of 4x4, the last row / column replicated to fill 8x8
    mean = rw.pool_to_stride(maps, 4)
    assert mean.shape == (2, 2)
    assert mean[0, 0] == maps[:4, :4].mean()
    padded = np.pad(maps, ((0, 3), (0, 2)), mode='edge')
    assert mean[1, 1] == padded[4:, 4:].mean()
    assert rw.pool_to_stride(maps, 4, 'max')[1, 0] == 27  # row 4, col 3
    assert rw.pool_to_stride(maps[None], 4).shape == (1, 2, 2)


def test_crf_on_labels_is_the_authors_crf_inference_label():
    """dense_crf_labels with PSEUDO_LABEL_CRF equals the authors'
    ``crf_inference_label(img, labels, sxy=20, n_labels)``, written here
    directly with pydensecrf."""
    img, cams, mask = _two_regions()
    labels = cam_labels(cams, [0, 1, 2]).astype(np.int64)
    got = dense_crf_labels(img, labels, 3, **PSEUDO_LABEL_CRF)
    crf = dcrf.DenseCRF2D(80, 64, 3)
    crf.setUnaryEnergy(unary_from_labels(labels, 3, gt_prob=0.7,
                                         zero_unsure=False))
    crf.addPairwiseGaussian(sxy=3, compat=3)
    crf.addPairwiseBilateral(sxy=20, srgb=5, rgbim=np.ascontiguousarray(img),
                             compat=10)
    expect = np.argmax(np.array(crf.inference(10)).reshape(3, 64, 80), 0)
    assert np.array_equal(got, expect)
    assert not np.array_equal(got, labels)  # it did change something


def test_boundary_labels_lie_on_the_object_edges():
    """Eq. (1)-(3) on CAMs that cover the objects (blurred masks): the
    synthesized boundaries run along the true edges, foreground regions lie
    inside the objects, background regions outside."""
    img, _, mask = _two_regions()
    cams = np.zeros((3, *mask.shape))
    for c in (1, 2):
        cams[c] = ndimage.gaussian_filter((mask == c).astype(float), 2)
        cams[c] /= cams[c].max()
    out = boundary_labels(cams, [0, 1, 2], crf=False)
    edge_dist = ndimage.distance_transform_edt(~gt_boundaries(mask))
    bry = out.regions == REGION_BOUNDARY
    # measured: 352 pixels, median distance 2, at most 4 (corners, and
    # eq. 1's uncertain band outside the objects shifts the balance point)
    assert bry.sum() > 100 and edge_dist[bry].max() <= 4
    assert np.median(edge_dist[bry]) <= 2
    assert (mask[out.regions == 1] > 0).all()
    assert (mask[out.regions == 0] == 0).all()
    # eq. (1): the sure pixels (90%), slightly beyond the objects (the
    # blurred CAMs exceed theta_fg one pixel out): precision 0.950
    quality = seed_quality(out.reliable, mask)
    assert 0.8 < (out.reliable != 255).mean() < 1
    assert quality['precision'] > 0.9
    # the dense CRF (it needs the image) snaps them to the image's regions:
    # measured mIoU 0.850 -> 1.000
    with pytest.raises(ValueError, match='needs the image'):
        boundary_labels(cams, [0, 1, 2])
    refined = boundary_labels(cams, [0, 1, 2], img)
    assert weak_miou(refined.reliable, mask, 3) > 0.99 > quality['IoU']


def test_a_set_without_background():
    """bg_index=None (CamVid): two classes fill the image; no pixel is
    background, and the boundary lies between the two classes."""
    mask = np.zeros((48, 64), np.uint8)
    mask[:, 30:] = 1
    img = np.where(mask[..., None] == 1, 180, 70).astype(np.uint8).repeat(
        3, 2)
    cams = np.stack([ndimage.gaussian_filter((mask == c) * 1.0, 3)
                     for c in (0, 1)])
    cams /= cams.max((1, 2), keepdims=True)
    out = boundary_labels(cams, [0, 1], crf=False, bg_index=None)
    assert set(np.unique(out.reliable)) <= {0, 1, 255}
    assert (out.reliable == 0).sum() > 0.3 * mask.size  # class 0, sure
    bry = out.regions == REGION_BOUNDARY
    assert bry.any() and set(np.flatnonzero(bry.any(0))) <= {28, 29, 30, 31}
    labels = bes_pseudo_labels(cams, [0, 1], gt_boundaries(mask) * 1.0, img,
                               bg_index=None)
    assert weak_miou(labels.final, mask, 2) > 0.95
    with pytest.raises(ValueError, match='at least one tag'):
        bes_pseudo_labels(cams, [], gt_boundaries(mask) * 1.0, img,
                          bg_index=None)
    # with background, an image without foreground tags is background
    assert (bes_pseudo_labels(np.zeros((2, 8, 8)), [0], np.zeros((8, 8)),
                              np.zeros((8, 8, 3), np.uint8)).final == 0).all()


def test_dataset_check_accepts_the_boundary_head(tiny_root):
    """BENet predicts boundaries (num_classes 2, MMSeg's binary convention)
    on a 3-class dataset: the start-up class count does not apply."""
    model = MODELS.build(Config.fromfile(BENET_CFG).model)
    assert model.decode_head.num_classes == 2
    runner = SimpleNamespace(
        model=model, logger=MMLogger.get_instance('bes_check'),
        train_dataloader=SimpleNamespace(
            dataset=DATASETS.build(full_dataset_cfg(tiny_root))))
    DatasetCheckHook(preflight=False).before_train(runner)


# ------------------------------------------------------------- the tool
def _tool(*args):
    proc = subprocess.run([PY, TOOL, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True)
    return proc


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


@pytest.fixture
def setup(tmp_path):
    """The tiny set, a CAM config on it and untrained CAM / BENet
    checkpoints (BENet: the config's 4 stages, and one fusing 3)."""
    root = write_tiny_dataset(str(tmp_path / 'tiny'))
    cfg = Config.fromfile(CAM_CFG)
    cfg.merge_from_dict(dict(
        test_dataloader=dict(dataset=dict(data_root=root)),
        model=dict(decode_head=dict(num_classes=3))))
    cam_cfg = str(tmp_path / 'cam_tiny.py')
    cfg.dump(cam_cfg)
    torch.manual_seed(0)
    cam = MODELS.build(cfg.model).eval()
    torch.save(dict(state_dict=cam.state_dict(), meta={}),
               tmp_path / 'cam.pth')
    benet_cfg = Config.fromfile(BENET_CFG)
    torch.save(dict(state_dict=MODELS.build(benet_cfg.model).state_dict()),
               tmp_path / 'benet.pth')
    benet_cfg.merge_from_dict({'model.decode_head.in_index': [0, 1, 2],
                               'model.decode_head.in_channels': [64, 128,
                                                                 256]})
    torch.save(dict(state_dict=MODELS.build(benet_cfg.model).state_dict()),
               tmp_path / 'benet3.pth')
    return dict(root=root, cam_cfg=cam_cfg, cam=tmp_path / 'cam.pth',
                benet=tmp_path / 'benet.pth',
                benet3=tmp_path / 'benet3.pth', tmp=tmp_path)


def _labels_args(s, out, benet=None):
    return ['labels', s['cam_cfg'], s['cam'], BENET_CFG,
            benet or s['benet'], out]


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.mark.slow
def test_tool_both_stages_resume_and_benet_training(setup):
    s, out = setup, setup['tmp'] / 'bes'
    stems = ['000', '001', '002', '003']
    _ok(_tool('boundaries', s['cam_cfg'], s['cam'], out))
    b = out / 'boundaries'
    assert sorted(os.listdir(b / 'train')) == [f'{i}.png' for i in stems]
    assert sorted(os.listdir(b / 'train_stages')) == ['cam', 'reliable']
    panel = _read(b / 'train_overlays/000.png')
    assert panel.shape == (32, 4 * 32, 3)  # image | CAM | eq. 1 | regions
    report = json.load(open(b / 'train_report.json'))
    assert report['samples'] == 4 and set(report['stages']) == {'cam', 'eq1'}
    regions = np.stack([_read(b / 'train' / f'{i}.png') for i in stems])
    assert set(np.unique(regions)) <= {0, 1, 2, 255}
    for name, code in (('background', 0), ('foreground', 1),
                       ('boundary', 2), ('uncertain', 255)):
        assert report['boundary_labels'][name]['pixels'] == int(
            (regions == code).sum())
    # the report's figures are those of the maps written, vs the masks
    masks = [_read(osp.join(s['root'], 'ann_dir/train', f'{i}.png'))
             for i in stems]
    for stage, folder in (('cam', 'cam'), ('eq1', 'reliable')):
        q = LabelQuality()
        for i, m in zip(stems, masks):
            q.add(_read(b / 'train_stages' / folder / f'{i}.png'), m)
        got = report['stages'][stage]
        assert got['mIoU'] == round(q.scores()['IoU'] * 100, 2)
        assert got['precision'] == round(q.scores()['precision'] * 100, 2)

    # BENet trains on them through its config (2 iterations)
    _ok(subprocess.run(
        [PY, 'tools/train.py', BENET_CFG, '--work-dir',
         str(s['tmp'] / 'benet_run'), '--cfg-options',
         f'train_dataloader.dataset.data_root={s["root"]}',
         f'train_dataloader.dataset.data_prefix.boundary_path={b / "train"}',
         f'val_dataloader.dataset.data_root={s["root"]}',
         'val_dataloader.dataset.data_prefix.img_path=img_dir/train',
         'val_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
         f'test_dataloader.dataset.data_root={s["root"]}',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0',
         'val_dataloader.persistent_workers=False', 'train_cfg.max_iters=2',
         'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
        cwd=REPO, capture_output=True, text=True))
    log = open(next((s['tmp'] / 'benet_run').glob('*/*.log'))).read()
    assert 'loss_boundary' in log and 'BoundaryF' in log

    # labels stage (untrained BENet): every stage measured
    _ok(_tool(*_labels_args(s, out)))
    lab = out / 'labels'
    assert sorted(os.listdir(lab / 'train')) == [f'{i}.png' for i in stems]
    assert _read(lab / 'train_overlays/001.png').shape == (32, 5 * 32, 3)
    report = json.load(open(lab / 'train_report.json'))
    assert list(report['stages']) == ['cam', 'random_walk', 'dcrf']
    assert report['settings']['crf']['sxy_bilateral'] == 20
    assert report['settings']['beta'] == 5
    q = LabelQuality()
    for i, m in zip(stems, masks):
        labels = _read(lab / 'train' / f'{i}.png')
        assert labels.shape == (32, 32) and labels.max() <= 2
        q.add(labels, m)
    assert report['stages']['dcrf']['mIoU'] == round(
        q.scores()['IoU'] * 100, 2)
    assert not [f for f in os.listdir(lab) if f.startswith('.')]

    # resume: kept maps are not recomputed, a missing one is remade
    kept, gone = lab / 'train/000.png', lab / 'train/001.png'
    mtime = kept.stat().st_mtime_ns
    os.remove(gone)
    _ok(_tool(*_labels_args(s, out), '--nproc', 1))
    assert kept.stat().st_mtime_ns == mtime and gone.is_file()
    assert json.load(open(lab / 'train_report.json')) == report
    # --restart remakes everything, to the same maps
    _ok(_tool(*_labels_args(s, out), '--restart'))
    assert kept.stat().st_mtime_ns != mtime
    assert json.load(open(lab / 'train_report.json')) == report


@pytest.mark.slow
def test_tool_bad_inputs_publish_nothing(setup):
    s = setup
    tags_path = osp.join(s['root'], 'weak/tags.json')
    tags = json.load(open(tags_path))

    # a BENet checkpoint fusing another number of stages
    out = s['tmp'] / 'stages'
    proc = _tool(*_labels_args(s, out, s['benet3']))
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert ("its head fuses 3 backbone stages, the config's 4"
            in proc.stderr)
    assert not out.exists()

    # tags naming an unknown class: the dataset's message, sample named
    json.dump({**tags, 'train/002': [0, 7]}, open(tags_path, 'w'))
    for stage in (['boundaries', s['cam_cfg'], s['cam']],
                  _labels_args(s, None)[:-1]):
        out = s['tmp'] / f'unknown_{stage[0]}'
        proc = _tool(*stage, out)
        assert proc.returncode != 0 and 'Traceback' not in proc.stderr
        assert "'train/002'" in proc.stderr and 'unknown class' in \
            proc.stderr and tags_path in proc.stderr
        assert not out.exists()

    # an image without any tag
    json.dump({**tags, 'train/001': []}, open(tags_path, 'w'))
    out = s['tmp'] / 'untagged'
    proc = _tool('boundaries', s['cam_cfg'], s['cam'], out)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert "'train/001'" in proc.stderr and 'no image tag' in proc.stderr
    assert not (out / 'boundaries' / 'train').exists()


@pytest.mark.slow
def test_tool_without_full_masks_reports_no_metrics(setup):
    """No ann_dir: the labels are made, the report says why it has no
    metric. Run as a set without background (CamVid's bg_index=None)."""
    s = setup
    shutil.rmtree(osp.join(s['root'], 'ann_dir'))
    out = s['tmp'] / 'nomasks'
    proc = _ok(_tool(*_labels_args(s, out), '--nproc', 1, '--cfg-options',
                     'model.decode_head.bg_index=None'))
    assert 'quality not measured' in proc.stdout
    report = json.load(open(out / 'labels/train_report.json'))
    assert 'not measured' in report['quality']
    assert report['samples'] == 4
    for entry in report['stages'].values():
        assert set(entry) == {'labelled_fraction'}
        assert entry['labelled_fraction'] == 1.0  # every pixel a class
    assert len(os.listdir(out / 'labels/train')) == 4
