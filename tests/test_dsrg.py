"""DSRG segmentor (loss against a manual recomputation, seeds-only and
plain-loss variants, auxiliary head, inference) and SupervisionQualityHook
(logged numbers against seed_quality by hand, overlays)."""
import json
import os
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample

from conftest import REPO
from dsrg_helpers import tiny_dsrg_model
from mmseg_wsss.algorithms.quality import seed_quality
from mmseg_wsss.algorithms.region_growing import grow_seeds_batch
from mmseg_wsss.models.losses.functional import (balanced_seed_loss,
                                                 constrain_loss, seed_loss)
from mmseg_wsss.models.utils import crf_probs

TAGS = ([0, 1], [0, 2])
# image 1 is 24 x 32, padded to 32 x 32 with the batch
SHAPES = ((32, 32), (24, 32))


def _batch():
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 32, 32)
    samples = []
    for i, (h, w) in enumerate(SHAPES):
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(32, 32),
            sample_key=f'train/{i}'))
        seeds = torch.full((1, 32, 32), 255)
        seeds[0, 2:6, 2:6] = 0
        seeds[0, 12:16, 12:16] = TAGS[i][1]
        sample.gt_pseudo_seg = PixelData(data=seeds)
        tags = torch.zeros(3)
        tags[TAGS[i]] = 1
        sample.gt_tags = tags
        samples.append(sample)
    return inputs, samples


def _probs(model, inputs):
    x = model.extract_feat(inputs)
    logits = F.interpolate(model.decode_head(x), size=inputs.shape[2:],
                           mode='bilinear', align_corners=False)
    return logits.softmax(1)


def _valid():
    valid = torch.zeros(2, 32, 32, dtype=torch.bool)
    for i, (h, w) in enumerate(SHAPES):
        valid[i, :h, :w] = True
    return valid


def _seeds(samples):
    return torch.stack([s.gt_pseudo_seg.data[0] for s in samples])


def _balanced_by_hand(probs, labels, floor=1e-4):
    """Eq. (1) pixel by pixel: -log(p + floor) averaged over each image's
    foreground (then background) seeds, over the images that have some."""
    total = 0.0
    for is_fg in (True, False):
        per_image = []
        for p, lab in zip(probs, labels):
            terms = [-torch.log(p[c, y, x] + floor)
                     for y, x in zip(*torch.nonzero(lab != 255, as_tuple=True))
                     for c in [int(lab[y, x])] if (c != 0) == is_fg]
            if terms:
                per_image.append(sum(terms) / len(terms))
        if per_image:
            total = total + sum(per_image) / len(per_image)
    return total


def test_dsrg_loss_is_grown_balanced_seed_loss_plus_constrain():
    model = MODELS.build(tiny_dsrg_model(constrain_weight=0.5))
    inputs, samples = _batch()
    with torch.no_grad():
        probs = _probs(model, inputs)
    # thresholds between the probabilities, so that growth is partial
    top = probs.max(1).values[_valid()]
    step = model.steps[0]
    step.theta_fg = step.theta_bg = float(top.quantile(0.5))
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_seed', 'loss_constrain'}

    probs = _probs(model, inputs)
    seeds = _seeds(samples)
    grown = grow_seeds_batch(
        probs.detach().masked_fill(~_valid()[:, None], -1).numpy(),
        seeds.numpy(), TAGS,
        theta_fg=step.theta_fg, theta_bg=step.theta_bg, bg_index=0)
    grown = torch.from_numpy(grown)
    added = (grown != 255) & (seeds == 255)
    assert added.any() and (grown == 255).any()  # partial growth
    assert (grown[1, 24:] == 255).all()  # padding never labelled
    expected = _balanced_by_hand(probs, grown)
    torch.testing.assert_close(losses['loss_seed'], expected)
    assert not torch.allclose(expected, balanced_seed_loss(probs, seeds))

    raw = model.decode_head(model.extract_feat(inputs)).softmax(1)
    target = crf_probs(model.rgb(inputs), raw, {})
    torch.testing.assert_close(losses['loss_constrain'],
                               0.5 * constrain_loss(raw, target))
    for label, (h, w), full in zip(model.current_supervision, SHAPES, grown):
        assert torch.equal(label, full[:h, :w])
    sum(losses.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)


@pytest.mark.parametrize('balanced, bg_index, fn', [
    (True, 0, balanced_seed_loss),
    (False, 0, seed_loss),
    (True, None, seed_loss),  # no background: eq. 1's first term
])
def test_seeds_only_uses_the_seeds_unchanged(balanced, bg_index, fn):
    model = MODELS.build(tiny_dsrg_model(
        grow=False, balanced=balanced, bg_index=bg_index,
        constrain_weight=0.0))
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_seed'}
    seeds = _seeds(samples)
    torch.testing.assert_close(losses['loss_seed'],
                               fn(_probs(model, inputs), seeds))
    for label, (h, w), seed in zip(model.current_supervision, SHAPES, seeds):
        assert torch.equal(label, seed[:h, :w])


def test_auxiliary_head_trains_on_grown_labels_and_inference():
    cfg = tiny_dsrg_model(theta_fg=0.0, theta_bg=0.0, constrain_weight=0.0,
                          label_target='grown')
    cfg['auxiliary_head'] = dict(
        type='FCNHead', in_channels=32, in_index=2, channels=8, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=3,
        align_corners=False, loss_decode=dict(
            type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True))
    model = MODELS.build(cfg)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    x = model.extract_feat(inputs)
    labels = torch.stack([
        F.pad(label, (0, 32 - label.shape[1], 0, 32 - label.shape[0]),
              value=255) for label in model.current_supervision
    ])
    logits = F.interpolate(model.auxiliary_head(x), size=(32, 32),
                           mode='bilinear', align_corners=False)
    expected = 0.4 * F.cross_entropy(logits, labels, ignore_index=255)
    torch.testing.assert_close(losses['aux.loss_ce'], expected)
    model.eval()
    preds = model.predict(inputs, samples)
    assert preds[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert preds[1].pred_sem_seg.data.shape == (1, 24, 32)


def test_bad_configuration_and_missing_seeds():
    cfg = tiny_dsrg_model()
    cfg['loss_weak'][0]['target'] = 'grwon'
    with pytest.raises(ValueError, match="'grwon' is read by a loss"):
        MODELS.build(cfg)
    cfg = tiny_dsrg_model()
    cfg['loss_weak'][0]['target'] = 'pseudo'  # the grown labels: unread
    with pytest.raises(ValueError, match='no loss in model.loss_weak'):
        MODELS.build(cfg)
    cfg = tiny_dsrg_model()
    cfg['decode_head']['loss_decode'] = dict(type='CrossEntropyLoss')
    model = MODELS.build(cfg)  # a label loss with nothing to train on
    with pytest.raises(ValueError, match='loss_decode=\\[\\]'):
        model.loss(*_batch())
    model = MODELS.build(tiny_dsrg_model())
    inputs, samples = _batch()
    del samples[0].gt_pseudo_seg
    with pytest.raises(KeyError, match='pseudo'):
        model.loss(inputs, samples)
    inputs, samples = _batch()
    del samples[1].gt_tags
    with pytest.raises(KeyError, match='tags'):
        model.loss(inputs, samples)


@pytest.mark.parametrize('name, num_classes, bg_index', [
    ('neu_seg', 4, 0), ('camvid', 11, None)])
def test_configs_build(name, num_classes, bg_index):
    ds = name.replace('_', '-')
    dsrg = Config.fromfile(osp.join(
        REPO, f'configs/dsrg/dsrg_r18-d8-aspp_1k_{ds}-128x128.py'))
    retrain = Config.fromfile(osp.join(
        REPO, f'configs/dsrg/dsrg-retrain_r18-d8-aspp_1k_{ds}-128x128.py'))
    assert [h['type'] for h in dsrg.custom_hooks] == [
        'SupervisionQualityHook', 'PseudoLabelRefreshHook']
    seeds = dsrg.train_dataloader.dataset.data_prefix.pseudo_path
    assert osp.normpath(seeds) == osp.join(REPO, 'data', f'{name}_seeds',
                                           'train')  # make_seeds.py's
    labels = retrain.train_dataloader.dataset.data_prefix.pseudo_path
    assert osp.normpath(labels) == osp.join(
        REPO, 'work_dirs', f'dsrg_r18-d8-aspp_1k_{ds}-128x128',
        'pseudo_labels', 'v1')  # the DSRG config's default work_dir
    for cfg in (dsrg, retrain):
        assert cfg.model.backbone.init_cfg is None  # no download
        model = MODELS.build(cfg.model).eval()
        out = model(torch.zeros(1, 3, 32, 32), mode='tensor')
        assert out.shape == (1, num_classes, 4, 4)
    assert model.__class__.__name__ == 'WSSSEncoderDecoder'
    assert dsrg.model.steps[0].bg_index == bg_index
    assert dsrg.model.loss_weak[0].bg_index == bg_index


# ------------------------------------------------------ quality hook
def _quality_runner(tmp_path, model, name):
    return SimpleNamespace(
        model=model, iter=9, work_dir=str(tmp_path),
        visualizer=Visualizer.get_instance(
            name, vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path)),
        logger=MMLogger.get_instance(name),
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            metainfo=dict(palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]))))


def _quality_batch(labels, full, seeds):
    samples = []
    for i, (f, s) in enumerate(zip(full, seeds)):
        sample = SegDataSample(metainfo=dict(sample_key=f'train/{i:03d}'))
        sample.gt_full_sem_seg = PixelData(data=torch.from_numpy(f)[None])
        sample.gt_pseudo_seg = PixelData(data=torch.from_numpy(s)[None])
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(s)[None])
        samples.append(sample)
    inputs = [torch.zeros(3, *f.shape, dtype=torch.uint8) for f in full]
    return dict(inputs=inputs, data_samples=samples)


def _scalars(tmp_path):
    with open(tmp_path / 'vis_data' / 'scalars.json') as f:
        return [json.loads(line) for line in f]


def test_quality_hook_logs_seed_quality_of_the_supervision(tmp_path):
    # sample 0 by hand: 4 labelled, 3 right -> precision 3/4, recall 3/6;
    # IoU: bg 1/3, class 1 1/2, class 2 1/2 -> 4/9
    labels = [np.array([[1, 1, 255], [0, 2, 255]]),
              np.array([[2, 255], [2, 2], [0, 255]])]
    full = [np.array([[1, 0, 0], [0, 2, 2]]),
            np.array([[2, 2], [2, 255], [0, 0]])]
    seeds = [np.where(lab == 2, 255, lab) for lab in labels]
    assert seed_quality(labels[0], full[0]) == pytest.approx(
        dict(precision=3 / 4, recall=1 / 2, IoU=4 / 9))
    model = SimpleNamespace(
        current_supervision=[torch.from_numpy(lab) for lab in labels])
    runner = _quality_runner(tmp_path, model, 'quality_hook_test')
    hook = HOOKS.build(dict(type='SupervisionQualityHook', interval=5,
                            num_overlays=1))
    batch = _quality_batch(labels, full, seeds)
    hook.after_train_iter(runner, 0, batch)  # iteration 10: measured
    runner.iter = 10
    hook.after_train_iter(runner, 0, batch)  # iteration 11: not
    pooled = lambda maps: np.concatenate([m.ravel() for m in maps])  # noqa
    expected = seed_quality(pooled(labels), pooled(full))
    expected_seeds = seed_quality(pooled(seeds), pooled(full))
    (logged, ) = _scalars(tmp_path)
    assert logged['step'] == 10
    for k in ('precision', 'recall', 'IoU'):
        assert logged[f'supervision/{k}'] == pytest.approx(expected[k])
        assert logged[f'seeds/{k}'] == pytest.approx(expected_seeds[k])
    assert expected != expected_seeds
    overlays = os.listdir(tmp_path / 'supervision_quality' / 'iter_10')
    assert overlays == ['0_train_000.png']
    img = cv2.imread(str(tmp_path / 'supervision_quality' / 'iter_10' /
                         overlays[0]))
    assert img.shape == (2, 9, 3)  # image | supervision | full mask


def test_quality_hook_static_supervision_and_skips(tmp_path):
    labels = [np.array([[1, 255], [0, 0]])]
    full = [np.array([[1, 1], [0, 0]])]
    runner = _quality_runner(tmp_path, SimpleNamespace(), 'quality_static')
    hook = HOOKS.build(dict(type='SupervisionQualityHook', interval=10))
    batch = _quality_batch(labels, full, labels)  # gt_sem_seg = labels
    del batch['data_samples'][0].gt_full_sem_seg
    hook.after_train_iter(runner, 0, batch)  # no full masks: skipped
    assert not osp.exists(tmp_path / 'vis_data' / 'scalars.json')
    hook.after_train_iter(runner, 0, _quality_batch(labels, full, labels))
    (logged, ) = _scalars(tmp_path)
    assert logged['supervision/precision'] == 1.0
    assert logged['supervision/recall'] == 0.75
