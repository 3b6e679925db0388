"""The weak-annotation data model on the real datasets of ../shared/data."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmseg.registry import DATASETS

from conftest import SHARED_SETS, full_dataset_cfg, shared_root

ALL = ['full', 'scribble', 'points', 'tags', 'proportions']


def _names(cfg: dict) -> list:
    names = list(ALL)
    if 'inst_map_path' in cfg['data_prefix']:
        names.append('inst_map')
    if 'instances_file' in cfg:
        names.append('boxes')
    return names


@pytest.mark.parametrize('name', SHARED_SETS)
def test_load_every_annotation(name):
    root = shared_root(name)
    meta = json.load(open(osp.join(root, 'meta.json')))
    cfg = full_dataset_cfg(root)
    cfg['pipeline'] = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=_names(cfg)),
        dict(type='PackWeakSegInputs', target='scribble'),
    ]
    ds = DATASETS.build(cfg)
    assert len(ds) == meta['counts']['train']
    assert list(ds.metainfo['classes']) == meta['classes']
    tags = json.load(open(osp.join(root, 'weak/tags.json')))
    for idx in (0, len(ds) // 2, len(ds) - 1):
        out = ds[idx]
        s = out['data_samples']
        h, w = out['inputs'].shape[1:]
        full = s.gt_full_sem_seg.data[0]
        scr = s.gt_scribble.data[0]
        assert torch.equal(s.gt_sem_seg.data[0], scr)  # target = scribble
        for m in (scr, s.gt_points.data[0]):
            assert m.shape == (h, w)
            lab = m != 255
            assert lab.any()
            assert torch.equal(m[lab], full[lab])
        key = s.sample_key
        expect = np.zeros(len(meta['classes']), np.float32)
        expect[tags[key]] = 1
        assert np.array_equal(s.gt_tags.numpy(), expect)
        assert abs(float(s.gt_proportions.sum()) - 1) < 1e-3
        if 'boxes' in _names(cfg):
            inst = s.gt_inst_seg.data[0]
            boxes = s.gt_instances.bboxes
            assert len(boxes) == len(s.gt_instances.labels)
            assert (boxes[:, 2] <= w + 1e-3).all()
            assert (boxes[:, 3] <= h + 1e-3).all()
            for iid, lab in zip(s.gt_instances.instance_ids,
                                s.gt_instances.labels):
                pix = inst == iid
                if pix.any():  # visible instance: its pixels carry its class
                    assert (full[pix] == lab).all()


def _aug_pipeline(names, target='full', crop=96):
    return [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=names),
        dict(type='WeakRandomRescale', ratio_range=(0.5, 2.0)),
        dict(type='WeakRandomCrop', crop_size=(crop, crop),
             tags='recompute'),
        dict(type='WeakRandomFlip', prob=[0.4, 0.4],
             direction=['horizontal', 'vertical']),
        dict(type='PackWeakSegInputs', target=target),
    ]


@pytest.mark.parametrize('name', ['coco128', 'dubai_aerial', 'isbi_em'])
def test_alignment_after_geometric_transforms(name):
    root = shared_root(name)
    cfg = full_dataset_cfg(root)
    names = [n for n in _names(cfg) if n != 'proportions']
    cfg['pipeline'] = _aug_pipeline(names)
    ds = DATASETS.build(cfg)
    np.random.seed(0)
    flipped = 0
    for trial in range(24):
        out = ds[trial % len(ds)]
        s = out['data_samples']
        flipped += bool(s.flip)
        full = s.gt_sem_seg.data[0]
        assert full.shape == out['inputs'].shape[1:]
        for field in ('gt_scribble', 'gt_points'):
            m = getattr(s, field).data[0]
            lab = m != 255
            assert torch.equal(m[lab], full[lab]), (field, trial)
        # recomputed tags cover exactly the classes left in the crop
        present = torch.zeros_like(s.gt_tags)
        valid = full[full != 255]
        counts = torch.bincount(valid.flatten(), minlength=len(present))
        present[counts >= 1e-3 * max(valid.numel(), 1)] = 1
        assert torch.equal(s.gt_tags, present)
        if 'gt_instances' in s:
            inst = s.gt_inst_seg.data[0]
            for iid, lab, box in zip(s.gt_instances.instance_ids,
                                     s.gt_instances.labels,
                                     s.gt_instances.bboxes):
                ys, xs = torch.nonzero(inst == iid, as_tuple=True)
                if len(ys):
                    assert (full[ys, xs] == lab).all()
                    # the moved box still holds its instance's pixels
                    assert xs.min() >= box[0] - 2 and xs.max() <= box[2] + 2
                    assert ys.min() >= box[1] - 2 and ys.max() <= box[3] + 2
    assert 0 < flipped < 24


def test_proportions_refuse_random_crop():
    from mmseg_wsss.datasets import WeakAnnotationError
    root = shared_root('dubai_aerial')
    cfg = full_dataset_cfg(root)
    cfg['pipeline'] = _aug_pipeline(['full', 'proportions'])
    ds = DATASETS.build(cfg)
    with pytest.raises(WeakAnnotationError, match='proportions'):
        ds[0]


def test_proportions_recomputed_on_crop_and_kept_by_flip_resize():
    from mmseg_wsss.algorithms.weak_labels import class_proportions
    root = shared_root('dubai_aerial')
    cfg = full_dataset_cfg(root)
    crop = _aug_pipeline(['full', 'proportions'])
    crop[3]['proportions'] = 'recompute'
    ds = DATASETS.build({**cfg, 'pipeline': crop})
    np.random.seed(1)
    for i in range(4):
        s = ds[i]['data_samples']
        full = s.gt_sem_seg.data[0].numpy()
        labelled = full[full != 255]
        expect = np.bincount(labelled, minlength=6) / labelled.size
        assert np.allclose(s.gt_proportions.numpy(), expect, atol=1e-6)
    no_crop = [t for t in crop if t['type'] != 'WeakRandomCrop']
    ds = DATASETS.build({**cfg, 'pipeline': no_crop})
    props = json.load(open(osp.join(root, 'weak/proportions.json')))
    s = ds[0]['data_samples']
    assert np.allclose(s.gt_proportions.numpy(), props[s.sample_key],
                       atol=1e-6)
    # flip + resize leave the proportions of the map (nearly) unchanged
    assert np.allclose(class_proportions(s.gt_sem_seg.data[0].numpy(), 6),
                       props[s.sample_key], atol=0.02)


def test_tags_declared_image_level_survive_crop():
    root = shared_root('camvid')
    cfg = full_dataset_cfg(root)
    pipe = _aug_pipeline(['full', 'tags'], crop=32)
    pipe[3]['tags'] = 'image'
    ds = DATASETS.build({**cfg, 'pipeline': pipe})
    tags = json.load(open(osp.join(root, 'weak/tags.json')))
    s = ds[3]['data_samples']
    assert s.gt_tags.nonzero().flatten().tolist() == tags[s.sample_key]


def test_data_preprocessor_pads_weak_maps():
    from mmseg.registry import MODELS
    root = shared_root('coco128')
    cfg = full_dataset_cfg(root)
    cfg['pipeline'] = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=_names(cfg)),
        dict(type='PackWeakSegInputs', target='scribble'),
    ]
    ds = DATASETS.build(cfg)
    items = [ds[0], ds[1]]
    pre = MODELS.build(dict(type='WeakSegDataPreProcessor', size=(336, 336)))
    out = pre(dict(inputs=[i['inputs'] for i in items],
                   data_samples=[i['data_samples'] for i in items]), True)
    assert out['inputs'].shape[-2:] == (336, 336)
    for item, s in zip(items, out['data_samples']):
        h, w = item['inputs'].shape[1:]
        for f in ('gt_sem_seg', 'gt_scribble', 'gt_points',
                  'gt_full_sem_seg', 'gt_inst_seg'):
            data = getattr(s, f).data
            assert data.shape[-2:] == (336, 336), f
            pad = 0 if f == 'gt_inst_seg' else 255
            assert (data[..., h:, :] == pad).all()
            assert (data[..., :, w:] == pad).all()
