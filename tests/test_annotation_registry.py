"""The annotation registry: one declaration carries a new kind of
annotation from disk through loading, geometry, packing, padding and into a
loss, with no other code changed."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmseg.registry import DATASETS, MODELS

from conftest import write_tiny_dataset
from mmseg_wsss.datasets import (ANNOTATIONS, AnnotationKind,
                                 WeakAnnotationError, register_annotation)
from mmseg_wsss.models.losses import WeakLoss
from mmseg_wsss.models.segmentors.weak_batch import WeakBatch


def _read_counts(path, classes, split):
    with open(path) as f:
        return json.load(f)


def _decode_counts(entry, num_classes, path, key):
    if len(entry) != num_classes or min(entry) < 0:
        raise WeakAnnotationError(path, key, f'bad counts {entry}')
    return entry


@pytest.fixture
def new_kinds():
    """A pixel kind (a saliency map) and an image-level kind (object
    counts per class), registered for one test."""
    kinds = [
        register_annotation(AnnotationKind(
            'saliency', 'pixel', 'saliency_path', 'gt_saliency_map',
            'gt_saliency', pad_value=0)),
        register_annotation(AnnotationKind(
            'counts', 'image', 'counts_file', 'gt_counts', 'gt_counts',
            read=_read_counts, decode=_decode_counts,
            to_results=lambda v, c: {'gt_counts': np.asarray(v,
                                                             np.float32)})),
    ]
    yield kinds
    for kind in kinds:
        ANNOTATIONS.pop(kind.name)


@MODELS.register_module(force=True)
class _SaliencyMass(WeakLoss):
    """Test loss: foreground probability mass on salient pixels, scaled by
    the image's object count."""

    def __init__(self, target='saliency', loss_weight=1.0,
                 loss_name='loss_sal'):
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch):
        sal = batch.get(self.target).float()
        counts = batch.get('counts').sum(1)
        return -(batch.probs[:, 1:].sum(1) * sal).mean() * counts.mean()


def _write(root):
    write_tiny_dataset(root)
    os.makedirs(osp.join(root, 'sal/train'))
    counts = {}
    for name in sorted(os.listdir(osp.join(root, 'img_dir/train'))):
        stem = name[:-4]
        sal = np.zeros((32, 32), np.uint8)
        sal[:, :8] = 7  # a left band: flips must move it
        cv2.imwrite(osp.join(root, 'sal/train', stem + '.png'), sal)
        counts[f'train/{stem}'] = [0, 2, 1]
    with open(osp.join(root, 'counts.json'), 'w') as f:
        json.dump(counts, f)


def test_a_new_kind_is_one_entry(tmp_path, new_kinds):
    root = str(tmp_path / 'tiny')
    _write(root)
    ds = DATASETS.build(dict(
        type='WeakSegDataset', data_root=root, counts_file='counts.json',
        data_prefix=dict(img_path='img_dir/train', saliency_path='sal/train',
                         scribble_path='weak/scribbles_w20/train'),
        pipeline=[
            dict(type='LoadCheckedImageFromFile'),
            dict(type='LoadWeakAnnotations',
                 annotations=['scribble', 'saliency', 'counts']),
            dict(type='WeakRandomFlip', prob=1.0, direction='horizontal'),
            dict(type='WeakRandomCrop', crop_size=(24, 32)),
            dict(type='PackWeakSegInputs', target='scribble'),
        ]))
    sample = ds[0]['data_samples']
    sal = sample.gt_saliency.data[0]
    assert sal.shape == (24, 32)
    assert (sal[:, 24:] == 7).all() and (sal[:, :24] == 0).all()  # flipped
    assert sample.gt_counts.tolist() == [0, 2, 1]
    assert sample.num_classes == 3

    model = MODELS.build(dict(
        type='WSSSEncoderDecoder',
        data_preprocessor=dict(type='WeakSegDataPreProcessor',
                               size=(32, 32), seg_pad_val=255),
        backbone=dict(type='UNet', in_channels=3, base_channels=4,
                      num_stages=2, strides=(1, 1), enc_num_convs=(1, 1),
                      dec_num_convs=(1, ), downsamples=(True, ),
                      enc_dilations=(1, 1), dec_dilations=(1, ),
                      norm_cfg=dict(type='BN')),
        decode_head=dict(type='FCNHead', in_channels=4, in_index=1,
                         channels=4, num_convs=0, concat_input=False,
                         dropout_ratio=0.0,
                         num_classes=3,
                         loss_decode=dict(type='CrossEntropyLoss',
                                          avg_non_ignore=True)),
        loss_weak=[dict(type='_SaliencyMass')]))
    data = model.data_preprocessor(
        dict(inputs=[ds[i]['inputs'] for i in range(2)],
             data_samples=[ds[i]['data_samples'] for i in range(2)]), True)
    padded = data['data_samples'][0].gt_saliency.data[0]
    assert padded.shape == (32, 32) and (padded[24:] == 0).all()  # pad 0
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'decode.loss_ce', 'loss_sal'} <= set(losses)
    batch = WeakBatch(model, data['inputs'], data['data_samples'],
                      model.extract_feat(data['inputs']))
    expected = -(batch.probs[:, 1:].sum(1) * batch.get('saliency')).mean() * 3
    torch.testing.assert_close(losses['loss_sal'], expected)


def test_image_level_kind_is_validated_per_sample(tmp_path, new_kinds):
    root = str(tmp_path / 'tiny')
    _write(root)
    with open(osp.join(root, 'counts.json')) as f:
        counts = json.load(f)
    counts['train/002'] = [1, -1, 0]
    with open(osp.join(root, 'counts.json'), 'w') as f:
        json.dump(counts, f)
    with pytest.raises(WeakAnnotationError,
                       match=r"counts.json: sample 'train/002': bad counts"):
        DATASETS.build(dict(type='WeakSegDataset', data_root=root,
                            counts_file='counts.json',
                            data_prefix=dict(img_path='img_dir/train')))


def test_registry_refuses_clashes_and_incomplete_kinds():
    with pytest.raises(ValueError, match="field 'gt_scribble' is taken"):
        register_annotation(AnnotationKind('scr2', 'pixel', 'scr2_path',
                                           'gt_scr2_map', 'gt_scribble'))
    with pytest.raises(ValueError, match='needs read, decode'):
        register_annotation(AnnotationKind('caption', 'image',
                                           'caption_file', 'gt_caption',
                                           'gt_caption'))
    assert 'scr2' not in ANNOTATIONS and 'caption' not in ANNOTATIONS


def test_transforms_name_the_missing_class_count(tiny_root):
    from mmseg_wsss.datasets.transforms import (LoadCheckedImageFromFile,
                                                LoadWeakAnnotations)
    info = dict(img_path=osp.join(tiny_root, 'img_dir/train/000.jpg'),
                scribble_path=osp.join(tiny_root,
                                       'weak/scribbles_w20/train/000.png'),
                sample_key='train/000')
    results = LoadCheckedImageFromFile()(dict(info))
    with pytest.raises(WeakAnnotationError, match='num_classes=...'):
        LoadWeakAnnotations(['scribble'])(dict(results))
    out = LoadWeakAnnotations(['scribble'], num_classes=3)(dict(results))
    assert out['gt_scribble_map'].shape == (32, 32)
