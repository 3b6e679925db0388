"""CAM classification network of DSRG (§3.1): attention pooling (BES eqs.
6-8), the CAM / Grad-CAM identities, CAMClassifier's loss and seeds, the
make_seeds tool and a short training run."""
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
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from conftest import REPO, write_tiny_dataset
from mmseg_wsss.algorithms import cam_seeds, seed_quality
from mmseg_wsss.models.decode_heads import CAMHead
from mmseg_wsss.models.utils import cam_maps, grad_cam, normalise_cams

PY = sys.executable
CONFIG = osp.join(REPO, 'configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py')


def _head(**kwargs):
    torch.manual_seed(0)
    cfg = dict(in_channels=8, num_classes=3, dropout_ratio=0.0)
    return CAMHead(**{**cfg, **kwargs}).eval()


# ------------------------------------------------------------- pooling
def test_attention_pooling_hand_computed():
    head = _head(num_classes=1, bg_index=None, pooling='attention', k=1.0)
    maps = torch.tensor([0.0, 1.0, 2.0]).view(1, 1, 1, 3)
    # eqs. (6)-(7): (0 e^0 + 1 e^1 + 2 e^2) / (e^0 + e^1 + e^2)
    assert head.pool(maps).item() == pytest.approx(1.5752104, abs=1e-6)
    valid = torch.tensor([[[True, True, False]]])
    assert head.pool(maps, valid).item() == pytest.approx(
        math.e / (1 + math.e), abs=1e-6)
    head.k = 1e-6  # k -> 0: GAP; k large: max pooling
    assert head.pool(maps).item() == pytest.approx(1.0, abs=1e-5)
    head.k = 50.0
    assert head.pool(maps).item() == pytest.approx(2.0, abs=1e-5)
    # eq. (8): P = M / max M, after upsampling; an all-zero map stays 0
    cams = torch.tensor([[[[0.5, 2.0]], [[0.0, 0.0]]]])
    assert normalise_cams(cams).tolist() == [[[[0.25, 1.0]], [[0.0, 0.0]]]]
    assert normalise_cams(cams, (3, 4)).amax((2, 3)).tolist() == [[1.0, 0]]


def test_gap_class_maps_average_to_the_class_score():
    head = _head()
    feat = torch.rand(2, 8, 5, 7)
    maps = head.forward([feat])
    scores = head.pool(maps)
    weight = head.conv_seg.weight.flatten(1)
    bias = head.conv_seg.bias
    # GAP then the linear classifier == the classifier's maps, averaged
    assert torch.allclose(scores, F.linear(feat.mean((2, 3)), weight, bias),
                          atol=1e-6)
    assert torch.allclose(maps.mean((2, 3)), scores, atol=1e-6)
    # the CAM is the bias-free map through a ReLU
    assert torch.allclose(cam_maps(feat, head.conv_seg.weight),
                          F.relu(maps - bias[:, None, None]), atol=1e-6)


def test_grad_cam_of_gap_linear_is_the_cam_up_to_scale():
    head = _head()
    feat = (torch.rand(2, 8, 5, 7) - 0.3).requires_grad_()
    scores = head.pool(head.forward([feat]))
    gc = grad_cam(scores, feat)
    cam = cam_maps(feat.detach(), head.conv_seg.weight)
    assert cam.max() > 0 and (cam == 0).any()  # the ReLU is exercised
    # dS/dA^k = w_k / (h w) everywhere: Grad-CAM = CAM / (h w)
    assert torch.allclose(gc * 35, cam, atol=1e-6)
    assert torch.allclose(normalise_cams(gc, (10, 14)),
                          normalise_cams(cam, (10, 14)), atol=1e-5)
    assert torch.allclose(grad_cam(scores, feat, classes=[2]), gc[:, 2:])
    # attention pooling too: dS/dM_i = A_i (1 + k (M_i - S)) varies over
    # i but averages to 1 / (h w) (eqs. 6-7), so alpha is still w / (h w)
    att = _head(pooling='attention', k=100.0)  # k M ~ 1-10: far from GAP
    scores = att.pool(att.forward([feat]))
    assert not torch.allclose(scores, att.forward([feat]).mean((2, 3)),
                              atol=1e-2)
    assert torch.allclose(grad_cam(scores, feat) * 35,
                          cam_maps(feat.detach(), att.conv_seg.weight),
                          atol=1e-5)


# ----------------------------------------------------------- segmentor
def _model(**test_cfg):
    cfg = Config.fromfile(CONFIG)
    cfg.model.decode_head.dropout_ratio = 0.0
    cfg.model.test_cfg.update(test_cfg)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()  # eval: BN is deterministic


def _samples(tags, shapes, size=32):
    samples = []
    for t, (h, w) in zip(tags, shapes):
        s = SegDataSample(gt_tags=torch.tensor(t, dtype=torch.float32))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w),
                            padding_size=[0, size - w, 0, size - h],
                            sample_key=f'train/{h}x{w}'))
        samples.append(s)
    return samples


def test_cam_classifier_loss_is_bce_without_background():
    model = _model()
    inputs = torch.rand(2, 3, 32, 32)
    tags = [[1, 1, 0, 1], [0, 0, 1, 0]]
    samples = _samples(tags, [(32, 32), (16, 24)])  # second one padded
    losses = model.loss(inputs, samples)
    assert set(losses) == {'decode.loss_cls'}
    maps = model.decode_head.forward(model.extract_feat(inputs))
    assert maps.shape == (2, 4, 4, 4)  # stride 8
    # image 2 covers 2 x 3 of the 4 x 4 feature cells
    scores = torch.stack([maps[0].mean((1, 2)), maps[1, :, :2, :3].mean(
        (1, 2))])
    target = torch.tensor(tags, dtype=torch.float32)
    expected = F.binary_cross_entropy_with_logits(scores[:, 1:],
                                                  target[:, 1:])
    assert losses['decode.loss_cls'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    # the background tag (bg_index = 0) is not classified
    flipped = _samples([[0, 1, 0, 1], [1, 0, 1, 0]], [(32, 32), (16, 24)])
    assert model.loss(inputs, flipped)['decode.loss_cls'].item() == (
        pytest.approx(expected.item(), rel=1e-6))
    losses['decode.loss_cls'].backward()
    grad = model.decode_head.conv_seg.weight.grad
    assert grad[0].abs().sum() == 0 and grad[1:].abs().sum() > 0
    # bg_index=None classifies every class
    model.decode_head.bg_index = None
    model.decode_head.classified = [0, 1, 2, 3]
    all_classes = F.binary_cross_entropy_with_logits(scores, target)
    assert model.loss(inputs, samples)['decode.loss_cls'].item() == (
        pytest.approx(all_classes.item(), rel=1e-5))
    with pytest.raises(KeyError, match="add 'tags'"):
        del samples[0].gt_tags
        model.loss(inputs, samples)


@pytest.mark.parametrize('cam', ['cam', 'gradcam'])
def test_predict_returns_cams_and_their_seeds(cam):
    model = _model(cam=cam, fg_fraction=0.3, bg_threshold=0.2)
    inputs = torch.rand(2, 3, 32, 32)
    tags = [[1, 1, 0, 1], [1, 0, 1, 0]]
    with torch.no_grad():
        results = model.predict(inputs, _samples(tags, [(32, 32), (24, 16)]))
    for result, t in zip(results, tags):
        cams = result.seg_logits.data
        assert cams.shape == (4, *result.ori_shape)
        fg = [c for c in np.flatnonzero(t) if c != 0]
        assert torch.allclose(cams[fg].amax((1, 2)), torch.ones(len(fg)))
        # the background channel is the cue 1 - max of the tagged fg CAMs
        assert torch.allclose(cams[0], 1 - cams[fg].amax(0))
        seeds = cam_seeds(cams.numpy(), np.flatnonzero(t), 0.3, 0.2, 0)
        assert np.array_equal(result.pred_sem_seg.data[0].numpy(), seeds)
        assert set(np.unique(seeds)) - {255} <= set(np.flatnonzero(t))
    # Grad-CAM equals the CAM of a GAP model: the same maps either way
    with torch.no_grad():
        other = _model(cam='cam' if cam == 'gradcam' else 'gradcam').predict(
            inputs, _samples(tags, [(32, 32), (24, 16)]))
    for a, b in zip(results, other):
        assert torch.allclose(a.seg_logits.data, b.seg_logits.data,
                              atol=1e-5)


def test_predict_without_tags_uses_the_classifier():
    model = _model(score_threshold=-1.0)  # sigmoid > -1: every class
    inputs = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        result = model.predict(inputs)[0]
    cams = result.seg_logits.data.numpy()
    assert np.array_equal(result.pred_sem_seg.data[0].numpy(),
                          cam_seeds(cams, [0, 1, 2, 3]))
    model.test_cfg.score_threshold = 2.0  # nothing: background only
    with torch.no_grad():
        result = model.predict(inputs)[0]
    assert (result.pred_sem_seg.data == 0).all()
    with pytest.raises(ValueError, match='test_cfg.cam'):
        _model(cam='saliency')


# ------------------------------------------------------- make_seeds tool
def _tiny_cfg_options(root, num_classes=3):
    return [f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'model.decode_head.num_classes={num_classes}']


def _make_seeds(cfg_path, ckpt, out, *extra):
    return subprocess.run(
        [PY, osp.join(REPO, 'tools/dataset/make_seeds.py'), cfg_path, ckpt,
         str(out), *extra], cwd=REPO, capture_output=True, text=True)


@pytest.mark.slow
def test_make_seeds_tool_report_resume_and_bad_input(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'))
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(dict(
        test_dataloader=dict(dataset=dict(data_root=root)),
        model=dict(decode_head=dict(num_classes=3))))
    cfg_path = str(tmp_path / 'cam_tiny.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = str(tmp_path / 'cam.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)

    out = tmp_path / 'seeds'
    proc = _make_seeds(cfg_path, ckpt, out, '--split', 'train')
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(out / 'train_report.json'))
    stems = sorted(f[:-4] for f in os.listdir(osp.join(root, 'img_dir/train')))
    assert report['samples'] == len(stems) == 4
    assert sorted(os.listdir(out / 'train')) == [f'{s}.png' for s in stems]
    assert len(os.listdir(out / 'train_overlays')) == 4

    # the seeds are the model's, on the dataset's tags
    ds_cfg = cfg.test_dataloader.dataset.to_dict()
    ds_cfg.update(data_prefix=dict(img_path='img_dir/train'),
                  tags_file='weak/tags.json', pipeline=[
                      dict(type='LoadCheckedImageFromFile'),
                      dict(type='LoadWeakAnnotations', annotations=['tags']),
                      dict(type='PackWeakSegInputs', target=None)])
    dataset = DATASETS.build(ds_cfg)
    seeds, fulls = [], []
    for i, stem in enumerate(stems):
        with torch.no_grad():
            expect = model.test_step(dict(
                inputs=[dataset[i]['inputs']],
                data_samples=[dataset[i]['data_samples']]))[0]
        got = cv2.imread(str(out / 'train' / f'{stem}.png'),
                         cv2.IMREAD_UNCHANGED)
        assert np.array_equal(got, expect.pred_sem_seg.data[0].numpy())
        seeds.append(got)
        fulls.append(cv2.imread(osp.join(root, 'ann_dir/train',
                                         f'{stem}.png'), cv2.IMREAD_UNCHANGED))
    quality = seed_quality(np.stack(seeds), np.stack(fulls))
    for key in ('precision', 'recall', 'IoU'):
        assert report[key] == round(quality[key] * 100, 2)
    assert report['labelled_fraction'] == round(
        float((np.stack(seeds) != 255).mean()), 4)

    # resume: a kept file is not recomputed, a missing one is rewritten
    kept, gone = out / 'train' / '000.png', out / 'train' / '001.png'
    mtime = kept.stat().st_mtime_ns
    os.remove(gone)
    proc = _make_seeds(cfg_path, ckpt, out, '--nproc', '1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(out / 'train_report.json')) == report
    assert kept.stat().st_mtime_ns == mtime and gone.is_file()
    assert not [f for f in os.listdir(out / 'train') if '.tmp' in f]

    # a corrupt image stops the run with its file and sample named
    bad = osp.join(root, 'img_dir/train/002.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    proc = _make_seeds(cfg_path, ckpt, tmp_path / 'seeds2')
    assert proc.returncode != 0
    assert bad in proc.stderr and "'train/002'" in proc.stderr
    assert 'Traceback' not in proc.stderr


# ----------------------------------------------------------- training
def _write_tag_dataset(root, n=8, size=32):
    """Red (class 1) and green (class 2) squares on grey noise, each in
    half of the images, so a bias alone cannot beat BCE = ln 2."""
    rng = np.random.default_rng(0)
    tags = {}
    for split in ('train', 'val'):
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
        for i in range(n):
            mask = np.zeros((size, size), np.uint8)
            if i % 4 in (0, 2):
                mask[4:14, 4:16] = 1
            if i % 4 in (1, 2):
                mask[18:28, 14:28] = 2
            img = rng.integers(80, 140, (size, size, 3)).astype(np.uint8)
            img[mask == 1] = (30, 30, 220)  # BGR red
            img[mask == 2] = (30, 200, 30)
            cv2.imwrite(osp.join(root, 'img_dir', split, f'{i:03d}.png'), img)
            cv2.imwrite(osp.join(root, 'ann_dir', split, f'{i:03d}.png'),
                        mask)
            tags[f'{split}/{i:03d}'] = np.unique(mask).tolist()
    os.makedirs(osp.join(root, 'weak'))
    with open(osp.join(root, 'weak/tags.json'), 'w') as f:
        json.dump(tags, f)
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(dict(classes=['bg', 'red', 'green'],
                       palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]), f)
    return root


@pytest.mark.slow
def test_training_decreases_the_classification_loss(tmp_path):
    root = _write_tag_dataset(str(tmp_path / 'squares'))
    work = tmp_path / 'work'
    iters = 40
    options = [
        *_tiny_cfg_options(root), 'randomness.seed=0',
        'train_dataloader.dataset.img_suffix=.png',
        'val_dataloader.dataset.img_suffix=.png',
        'test_dataloader.dataset.img_suffix=.png',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=5'
    ]
    proc = subprocess.run(
        [PY, 'tools/train.py', CONFIG, '--work-dir', str(work),
         '--cfg-options', *options], cwd=REPO, capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = sorted(d for d in os.listdir(work) if osp.isdir(work / d))[-1]
    logs = [json.loads(line)
            for line in open(work / run / 'vis_data' / 'scalars.json')]
    losses = [x['decode.loss_cls'] for x in logs if 'decode.loss_cls' in x]
    assert len(losses) == iters
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    # starts at ln 2 (zero-initialised logits, balanced tags), which is
    # also the best a bias can do: going below it needs the features
    assert first == pytest.approx(math.log(2), abs=0.05)
    assert last < first - 0.1, losses
    # validation scored the seeds against the full masks
    assert any('mIoU' in x for x in logs)
    # tools/test.py draws the seeds with SegVisualizationHook
    proc = subprocess.run(
        [PY, 'tools/test.py', CONFIG, str(work / f'iter_{iters}.pth'),
         '--work-dir', str(work), '--show-dir', str(work / 'vis'),
         '--cfg-options', *options], cwd=REPO, capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    drawn = [f for _, _, files in os.walk(work / 'vis') for f in files
             if f.endswith('.png')]
    assert len(drawn) == 8
