"""BENet (BES §3.1, §4.1): the boundary head on MMSeg backbones and the
relaxed boundary loss of eq. (4) against hand-computed values."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

REGIONS = torch.tensor([[[2, 2, 1], [0, 255, 0]]])  # 2 bry, 1 fg, 0 bg


def _batch(logits, regions=REGIONS):
    return SimpleNamespace(logits=logits, get=lambda name: regions,
                           valid=torch.ones_like(regions, dtype=torch.bool))


def test_relaxed_boundary_loss_by_hand():
    logits = torch.tensor([[[[0.5, -1.0, 2.0], [-0.5, 3.0, 1.0]]]])
    loss = MODELS.build(dict(type='RelaxedBoundaryLoss'))
    p = [1 / (1 + math.exp(-v)) for v in (0.5, -1.0, 2.0, -0.5, 3.0, 1.0)]
    boundary = -(math.sqrt(p[0]) * math.log(p[0]) +
                 math.sqrt(p[1]) * math.log(p[1])) / 2
    fg = -math.log(1 - p[2])
    bg = -(math.log(1 - p[3]) + math.log(1 - p[5])) / 2
    assert loss(_batch(logits)).item() == pytest.approx(
        boundary + 0.5 * (fg + bg), rel=1e-6)
    assert loss.loss_name == 'loss_boundary'


@pytest.mark.parametrize('regions, expected', [
    (torch.full((1, 2, 3), 255), 0.0),  # nothing labelled
    (torch.tensor([[[1, 1, 1], [255, 255, 255]]]), None),  # fg only
])
def test_relaxed_boundary_loss_empty_sets(regions, expected):
    logits = torch.randn(1, 1, 2, 3, requires_grad=True)
    value = MODELS.build(dict(type='RelaxedBoundaryLoss'))(
        _batch(logits, regions))
    if expected is None:  # only the foreground term, halved
        p = logits.detach().sigmoid()[0, 0, 0]
        expected = 0.5 * float(-(1 - p).log().mean())
    assert value.item() == pytest.approx(expected, rel=1e-6, abs=1e-9)
    value.backward()
    assert torch.isfinite(logits.grad).all()


def test_boundary_weight_is_detached_by_default():
    """With W_i = sqrt(P_i) differentiated, a boundary pixel at P < e^-2 is
    pushed down; as a weight only, always up."""
    regions = torch.tensor([[[2]]])
    grads = {}
    for weight_grad in (False, True):
        logits = torch.full((1, 1, 1, 1), -5.0, requires_grad=True)
        MODELS.build(dict(type='RelaxedBoundaryLoss', weight_grad=weight_grad))(
            _batch(logits, regions)).backward()
        grads[weight_grad] = logits.grad.item()
    assert grads[False] < 0 < grads[True]  # descent: P up / P down


def _model(backbone, in_channels, in_index):
    return MODELS.build(dict(
        type='WSSSEncoderDecoder',
        data_preprocessor=dict(type='WeakSegDataPreProcessor',
                               size_divisor=16, seg_pad_val=255),
        backbone=backbone,
        decode_head=dict(type='BENetHead', in_channels=in_channels,
                         in_index=in_index, channels=8,
                         norm_cfg=dict(type='BN')),
        loss_weak=[dict(type='RelaxedBoundaryLoss')],
        test_cfg=ConfigDict(mode='whole')))


BACKBONES = {
    'resnet': (dict(type='ResNetV1c', depth=18, stem_channels=8,
                    base_channels=8, out_indices=(0, 1, 2, 3)),
               [8, 16, 32, 64], [0, 1, 2, 3], (8, 8)),
    'attention_unet': (dict(type='AttentionUNet', base_channels=4,
                            num_stages=3),
                       [16, 8, 4], [0, 1, 2], (32, 32)),
}


@pytest.mark.parametrize('name', list(BACKBONES))
def test_benet_trains_and_predicts_on_mmseg_backbones(name):
    backbone, channels, index, out_hw = BACKBONES[name]
    model = _model(backbone, channels, index)
    inputs = torch.rand(2, 3, 32, 32) * 255
    assert model(inputs, mode='tensor').shape == (2, 1, *out_hw)
    samples = []
    for _ in range(2):
        regions = torch.randint(0, 3, (1, 32, 32))
        regions[:, :4] = 255
        s = SegDataSample(gt_boundary=PixelData(data=regions))
        s.set_metainfo(dict(img_shape=(32, 32), ori_shape=(32, 32),
                            pad_shape=(32, 32)))
        samples.append(s)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_boundary'}
    losses['loss_boundary'].backward()
    assert all(m.conv.weight.grad.abs().sum() > 0
               for m in model.decode_head.reduce)
    model.eval()
    with torch.no_grad():
        pred = model.predict(inputs, samples)[0]
    prob = pred.seg_logits.data
    assert prob.shape == (1, 32, 32) and 0 <= prob.min() <= prob.max() <= 1
    assert torch.equal(pred.pred_sem_seg.data, (prob > 0.5).long())


def test_benet_names_a_stage_mismatch():
    with pytest.raises(ValueError, match='as many in_channels'):
        _model(BACKBONES['resnet'][0], [8, 16, 32], [0, 1, 2, 3])
    model = _model(BACKBONES['resnet'][0], [8, 16, 32, 64, 64],
                   [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match='gives 4 outputs'):
        model.eval()(torch.rand(1, 3, 32, 32), mode='tensor')
    with pytest.raises(ValueError, match='one-channel boundary head'):
        MODELS.build(dict(
            type='WSSSEncoderDecoder', backbone=BACKBONES['resnet'][0],
            decode_head=dict(type='FCNHead', in_channels=64, in_index=3,
                             channels=8, num_classes=3, loss_decode=[]),
            loss_weak=[dict(type='RelaxedBoundaryLoss')]))
