"""PanopticSegmentor (panoptic paper §3.5): semantic subnetwork + instance
CRF over detections; training losses, test-time outputs, the
connected-components baseline and bad detections."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms.panoptic import connected_component_instances


def _model(**test_cfg):
    return MODELS.build(dict(
        type='PanopticSegmentor',
        data_preprocessor=dict(type='WeakSegDataPreProcessor',
                               mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(3, ),
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)),
        decode_head=dict(type='ASPPHead', in_channels=64, in_index=0,
                         channels=16, dilations=(1, 3), num_classes=3,
                         loss_decode=dict(type='CrossEntropyLoss')),
        instance_head=dict(type='InstanceCRFHead', ignore_index=-1),
        thing_classes=[1, 2],
        test_cfg=ConfigDict(mode='whole', **test_cfg)))


def _sample(h=24, w=32):
    """Two things of class 1 side by side and one of class 2 on stuff 0."""
    sem = torch.zeros(h, w, dtype=torch.long)
    inst = torch.zeros(h, w, dtype=torch.long)
    sem[4:12, 2:10], inst[4:12, 2:10] = 1, 1
    sem[4:12, 12:20], inst[4:12, 12:20] = 1, 2
    sem[14:22, 20:30], inst[14:22, 20:30] = 2, 3
    s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                    pad_shape=(h, w), sample_key='t/0'))
    s.gt_sem_seg = PixelData(data=sem[None])
    s.gt_inst_seg = PixelData(data=inst[None])
    s.detections = InstanceData(
        bboxes=torch.tensor([[2., 4., 10., 12.], [12., 4., 20., 12.],
                             [20., 14., 30., 22.]]),
        labels=torch.tensor([1, 1, 2]), scores=torch.tensor([.9, .8, .7]))
    return s, sem, inst


def test_instance_target_things_then_stuff_ignore_elsewhere():
    model = _model()
    s, sem, inst = _sample()
    sem[0, 0] = 255  # ignored pixel
    inst[5, 5] = 0  # a thing pixel without instance
    s.gt_sem_seg = PixelData(data=sem[None])
    s.gt_inst_seg = PixelData(data=inst[None])
    t = model.instance_target(s)
    assert t[0, 0] == -1 and t[5, 5] == -1
    assert set(t[inst == 1].tolist()) - {-1} == {1}
    assert set(t[inst == 3].tolist()) == {3}
    assert set(t[(sem == 0)].tolist()) - {-1} == {4}  # stuff class 0


def test_loss_trains_semantic_and_instance_parts():
    torch.manual_seed(0)
    model = _model()
    s, _, _ = _sample()
    img = torch.rand(1, 3, 24, 32) * 255
    losses = model.loss(img, [s])
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg',
                           'loss_instance'}
    assert losses['loss_instance'] > 0
    (losses['decode.loss_ce'] + losses['loss_instance']).backward()
    assert model.instance_head.w1.grad is not None
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    s2, _, _ = _sample()
    del s2.detections
    with pytest.raises(KeyError, match="t/0 has no detections"):
        model.loss(img, [s2])


def test_predict_crf_and_components_outputs():
    torch.manual_seed(0)
    img = torch.rand(1, 3, 24, 32) * 255
    model = _model().eval()
    s, _, _ = _sample()
    with torch.no_grad():
        out = model.predict(img, [s])[0]
    sem = out.pred_sem_seg.data[0]
    inst = out.pred_inst_seg.data[0]
    assert sem.shape == inst.shape == (24, 32)
    # instance ids are detections 1..3 (their class) or 0 (stuff class 0)
    assert set(inst.unique().tolist()) <= {0, 1, 2, 3}
    for k, c in ((1, 1), (2, 1), (3, 2)):
        assert (sem[inst == k] == c).all()
    assert (sem[inst == 0] == 0).all()
    base = _model(instances='components').eval()
    base.load_state_dict(model.state_dict())
    with torch.no_grad():
        comp = base.predict(img, [_sample()[0]])[0]
    want = connected_component_instances(
        comp.seg_logits.data.argmax(0).numpy(), [1, 2])
    assert (comp.pred_inst_seg.data[0].numpy() == want).all()


def test_no_detections_gives_stuff_only_and_bad_boxes_name_the_sample():
    model = _model().eval()
    img = torch.rand(1, 3, 24, 32) * 255
    s, _, _ = _sample()
    s.detections = InstanceData(bboxes=torch.zeros(0, 4),
                                labels=torch.zeros(0, dtype=torch.long),
                                scores=torch.zeros(0))
    with torch.no_grad():
        out = model.predict(img, [s])[0]
    assert (out.pred_inst_seg.data == 0).all()
    assert (out.pred_sem_seg.data == 0).all()
    s, _, _ = _sample()
    s.detections.bboxes[0] = torch.tensor([40., 30., 50., 40.])
    with pytest.raises(ValueError, match='sample t/0'):
        with torch.no_grad():
            model.predict(img, [s])


def test_connected_components_by_hand():
    sem = torch.tensor([[1, 1, 0, 1],
                        [0, 0, 0, 1],
                        [2, 0, 1, 0],
                        [2, 0, 0, 1]]).numpy()
    got = connected_component_instances(sem, [1, 2], connectivity=8)
    # class 1: {(0,0),(0,1)}, {(0,3),(1,3),(2,2),(3,3)} (8-connected);
    # class 2: {(2,0),(3,0)}
    want = [[1, 1, 0, 2],
            [0, 0, 0, 2],
            [3, 0, 2, 0],
            [3, 0, 0, 2]]
    assert got.tolist() == want
    four = connected_component_instances(sem, [1], connectivity=4)
    assert len(set(four[four > 0].tolist())) == 4
    with pytest.raises(ValueError):
        connected_component_instances(sem, [1], connectivity=6)


def test_pred_instances_carry_detection_scores_or_mean_probability():
    torch.manual_seed(0)
    img = torch.rand(1, 3, 24, 32) * 255
    model = _model().eval()
    s, _, _ = _sample()
    with torch.no_grad():
        out = model.predict(img, [s])[0]
    inst = out.pred_inst_seg.data[0]
    pi = out.pred_instances
    ids = [k for k in (1, 2, 3) if (inst == k).any()]
    assert len(pi) == len(ids)
    for m, label, score, k in zip(pi.masks, pi.labels, pi.scores, ids):
        assert (m == (inst == k)).all()
        assert float(score) == pytest.approx([.9, .8, .7][k - 1])
        assert int(label) == [1, 1, 2][k - 1]
    base = _model(instances='components').eval()
    base.load_state_dict(model.state_dict())
    with torch.no_grad():
        comp = base.predict(img, [_sample()[0]])[0]
    probs = comp.seg_logits.data.softmax(0)
    for m, label, score in zip(comp.pred_instances.masks,
                               comp.pred_instances.labels,
                               comp.pred_instances.scores):
        assert float(score) == pytest.approx(float(probs[label][m].mean()))
