"""The Centroid Loss network, segmentor and configs (paper 000, §IV-V)."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from conftest import REPO, full_dataset_cfg, shared_root
from mmseg_wsss.models.backbones.attention_unet import AttentionGate
from mmseg_wsss.models.utils import crf_probs


HEADLINE = 'centroid_attention-unet-s5_1k_demo-corrosion-128x128.py'


def _cfg(name=HEADLINE, **options):
    cfg = Config.fromfile(osp.join(REPO, 'configs/centroid', name))
    cfg.merge_from_dict(options)
    return cfg


def _batch(n=2, c=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.rand(n, 3, size, size, generator=g) * 255
    samples = []
    for i in range(n):
        pseudo = torch.randint(0, c, (1, size, size), generator=g)
        scr = torch.full_like(pseudo, 255)
        scr[:, 4:8, :] = pseudo[:, 4:8, :]
        s = SegDataSample(gt_sem_seg=PixelData(data=pseudo),
                          gt_scribble=PixelData(data=scr))
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size),
                            ori_shape=(size, size), padding_size=[0] * 4))
        samples.append(s)
    return inputs, samples


def test_attention_gate_matches_eq1():
    gate = AttentionGate(2, 2, 1, norm_cfg=None).eval()
    with torch.no_grad():
        gate.w_x.conv.weight.copy_(torch.tensor([1., -1.]).view(1, 2, 1, 1))
        gate.w_g.conv.weight.copy_(torch.tensor([0.5, 0.5]).view(1, 2, 1,
                                                                 1))
        gate.w_g.conv.bias.fill_(0.1)
        gate.psi.conv.weight.fill_(2.0)
        gate.psi.conv.bias.fill_(-1.0)
    x = torch.tensor([3., 1.]).view(1, 2, 1, 1)
    g = torch.tensor([1., -2.]).view(1, 2, 1, 1)
    # q = relu(Wx x + Wg g + bg) = relu(2 - 0.5 + 0.1) = 1.6
    # alpha = sigmoid(2 * 1.6 - 1) = sigmoid(2.2)
    alpha = 1 / (1 + np.exp(-2.2))
    out = gate(x, g)
    assert torch.allclose(out.flatten(), torch.tensor([3., 1.]) * alpha,
                          atol=1e-6)


def test_attention_unet_outputs_and_divisibility():
    net = MODELS.build(dict(type='AttentionUNet', base_channels=4,
                            num_stages=3))
    outs = net(torch.rand(2, 3, 32, 48))
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 8, 12), (8, 16, 24),
                                                  (4, 32, 48)]
    with pytest.raises(ValueError, match='divisible by 4'):
        net(torch.rand(1, 3, 30, 32))


def test_centroid_head_pools_globally():
    head = MODELS.build(dict(type='CentroidHead', in_channels=8,
                             num_classes=3, feat_dim=6, in_index=-1)).eval()
    x = torch.rand(4, 8, 5, 5)
    cen = head([x])
    assert cen.shape == (4, 3, 6)
    # GAP: any rearrangement of the pixels gives the same centroids, a
    # different mean different ones
    shuffled = x.flatten(2)[..., torch.randperm(25)].view_as(x)
    torch.testing.assert_close(head([shuffled]), cen)
    assert not torch.allclose(head([x + 1]), cen)


@pytest.mark.parametrize('space,dim', [('softmax', 2), ('softmax_nrgb', 5)])
def test_segmentor_losses_eq7(space, dim):
    cfg = _cfg(**{'model.steps.0.feature_space': space})
    model = MODELS.build(cfg.model)
    assert model.steps[0].head.feat_dim == dim
    inputs, samples = _batch()
    losses = model.loss(model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), True)['inputs'],
        samples)
    assert {'decode.loss_ce', 'loss_cen', 'loss_mse'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    grads = [p.grad for p in model.steps[0].head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_group_switches():
    inputs, samples = _batch()
    g2 = MODELS.build(_cfg(**{'model.loss_weak.1.loss_weight': 0.0}).model)
    assert 'loss_mse' not in g2.loss(inputs, samples)
    g1 = MODELS.build(_cfg(**{'model.loss_weak.0.loss_weight': 0.0,
                              'model.loss_weak.1.loss_weight': 0.0}).model)
    assert set(g1.loss(inputs, samples)) == {'decode.loss_ce',
                                            'decode.acc_seg'}
    # G1 never runs the centroid branch: its batch-norm statistics stay
    g1.loss(inputs, samples)
    bn = g1.steps[0].head.blocks[0][1]
    assert int(bn.num_batches_tracked) == 0


def test_clustering_output_is_nearest_centroid():
    cfg = _cfg(**{'model.test_cfg.output': 'cluster',
                  'model.steps.0.feature_space': 'softmax_nrgb'})
    model = MODELS.build(cfg.model).eval()
    inputs, samples = _batch(n=2)
    x = (inputs - model.data_preprocessor.mean) / model.data_preprocessor.std
    with torch.no_grad():
        preds = model.predict(x, copy.deepcopy(samples))
        feats = model.extract_feat(x)
        probs = model.decode_head.forward(feats)
        probs = F.interpolate(probs, size=(32, 32), mode='bilinear').softmax(1)
        rgb = inputs / inputs.sum(1, keepdim=True)
        f = torch.cat([probs, rgb], 1)
        cen = model.steps[0].head(feats)
        # brute force: nearest centroid by plain squared distance
        d = ((f[:, None] - cen[..., None, None])**2).sum(2)
    for i, p in enumerate(preds):
        assert torch.equal(p.pred_sem_seg.data[0], d[i].argmin(0))


def test_test_time_crf_gives_distributions():
    from mmengine.config import DictAction
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    opts = parser.parse_args(['--o', 'model.test_cfg.crf=True']).o
    model = MODELS.build(_cfg(**opts).model).eval()
    inputs, samples = _batch(n=1)
    with torch.no_grad():
        out = model.predict(inputs, samples)
    logp = out[0].seg_logits.data
    assert torch.allclose(logp.exp().sum(0), torch.ones(32, 32), atol=1e-4)


def test_mixing_with_mmseg_resnet_and_fcn():
    cfg = _cfg('centroid_r18-d8-fcn_1k_demo-corrosion-128x128.py',
               **{'model.backbone.init_cfg': None})
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ResNetV1c'
    inputs, samples = _batch(size=64)
    losses = model.loss(inputs, samples)
    assert {'decode.loss_ce', 'loss_cen', 'loss_mse'} <= set(losses)


def test_online_pseudo_masks_extend_scribbles():
    root = shared_root('neu_seg')
    cfg = full_dataset_cfg(root, pipeline=[
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=['scribble', 'full']),
        dict(type='ScribbleSuperpixelPseudoMask', n_segments=50),
        dict(type='WeakRandomFlip', prob=0.5),
        dict(type='PackWeakSegInputs', target='pseudo'),
    ])
    ds = DATASETS.build(cfg)
    scr_px = pseudo_px = correct = 0
    for i in range(0, 40, 4):
        s = ds[i]['data_samples']
        scr, pseudo = s.gt_scribble.data[0], s.gt_sem_seg.data[0]
        full = s.gt_full_sem_seg.data[0]
        lab = scr != 255
        assert torch.equal(pseudo[lab], scr[lab])
        scr_px += int(lab.sum())
        pseudo_px += int((pseudo != 255).sum())
        correct += int(((pseudo == full) & (pseudo != 255)).sum())
    assert pseudo_px > 1.5 * scr_px
    assert correct / pseudo_px > 0.8  # measured 0.837 (SUP50, w20)


def test_size_and_sec_losses_next_to_pce():
    """Table 4 baselines: registered weak losses on the scribbles, next to
    the decode head's pCE."""
    from mmseg_wsss.models.losses.functional import (expand_loss,
                                                     scribble_size_bounds,
                                                     seed_loss, size_loss)
    labels = torch.full((2, 8, 8), 255)
    labels[0, :2], labels[0, 6:] = 0, 2
    labels[1, 3:5] = 1
    bounds = scribble_size_bounds(labels, 3)
    assert bounds[0].tolist() == [[16, 48], [0, 0], [16, 48]]
    cfg = _cfg()
    cfg.model.decode_head.num_classes = 3
    cfg.model.loss_weak = [dict(type='SizeLoss'),
                           dict(type='SECSeedExpandLoss')]
    model = MODELS.build(cfg.model)
    inputs, samples = _batch(size=16)
    for sample, label in zip(samples, F.pad(labels, (0, 8, 0, 8),
                                             value=255)):
        sample.gt_scribble = PixelData(data=label[None])
    losses = model.loss(inputs, samples)
    assert {'decode.loss_ce', 'loss_size', 'loss_sec'} <= set(losses)
    with torch.no_grad():
        logits = model.decode_head.forward(model.extract_feat(inputs))
        probs = F.interpolate(logits, size=(16, 16), mode='bilinear',
                              align_corners=False).softmax(1)
    scr = torch.stack([s.gt_scribble.data[0] for s in samples])
    torch.testing.assert_close(
        losses['loss_size'].detach(),
        1e-3 * size_loss(probs, scribble_size_bounds(scr, 3)))
    present = torch.tensor([[1., 0, 1], [0, 1, 0]]).bool()
    torch.testing.assert_close(
        losses['loss_sec'].detach(),
        seed_loss(probs, scr) + expand_loss(probs, present))


def test_constrain_loss_is_kl_to_crf_of_softmax():
    cfg = _cfg()
    cfg.model.loss_weak.append(
        dict(type='ConstrainLoss', loss_weight=2.0, size=16))
    model = MODELS.build(cfg.model)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    assert losses['loss_constrain'] > 0
    with torch.no_grad():
        logits = model.decode_head.forward(model.extract_feat(inputs))
        small = F.interpolate(logits, scale_factor=0.5, mode='bilinear')
        p = small.softmax(1)
        q = crf_probs(model.rgb(inputs), p, {})
        kl = (q * (q.clamp_min(1e-12).log() - (p + 1e-4).log())).sum(1)
    assert torch.allclose(losses['loss_constrain'].detach(), 2 * kl.mean(),
                          rtol=1e-4)


@pytest.mark.parametrize('loss_type', ['SizeLoss', 'SECSeedExpandLoss'])
def test_crop_without_scribbles_contributes_nothing(loss_type):
    """A crop that lost every scribble pixel says nothing about its
    classes: it adds no term and no gradient (before, it was taken as
    "every class absent")."""
    from types import SimpleNamespace
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    labels = torch.full((2, 8, 8), 255)
    labels[0, :2], labels[0, 6:] = 0, 2
    loss = MODELS.build(dict(type=loss_type))

    def batch(n):
        return SimpleNamespace(probs=logits[:n].softmax(1), ignore_index=255,
                               get=lambda name: labels[:n])

    value = loss(batch(2))
    torch.testing.assert_close(value, loss(batch(1)))
    value.backward()
    assert logits.grad[1].abs().sum() == 0 and logits.grad[0].abs().sum() > 0
    labels[0] = 255  # no scribble anywhere: zero, still with a graph
    empty = loss(batch(2))
    assert empty.item() == 0 and empty.requires_grad
