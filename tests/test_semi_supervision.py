"""Semi-supervision (panoptic paper §3.5): full masks for a subset of the
training images, weak labels for the rest, per sample, in one dataset."""
import os
import os.path as osp
import shutil

import cv2
import pytest
from mmseg.registry import DATASETS

from conftest import full_dataset_cfg
from mmseg_wsss.datasets import WeakAnnotationError

PIPELINE = [dict(type='LoadCheckedImageFromFile'),
            dict(type='LoadWeakAnnotations', annotations=['pseudo', 'full']),
            dict(type='PackWeakSegInputs', target='pseudo')]


def _build(root, **subset):
    """The tiny set trained on pseudo labels (copies of its scribbles)."""
    pseudo = osp.join(root, 'weak/pseudo/train')
    if not osp.isdir(pseudo):
        shutil.copytree(osp.join(root, 'weak/scribbles_w20/train'), pseudo)
    cfg = full_dataset_cfg(root, pipeline=PIPELINE)
    cfg['data_prefix']['pseudo_path'] = 'weak/pseudo/train'
    if subset:
        cfg['full_subset'] = subset
    return DATASETS.build(cfg)


def _targets(ds):
    """Per sample key: whether its training target is its full mask."""
    out = {}
    for i in range(len(ds)):
        s = ds[i]['data_samples']
        target = s.gt_sem_seg.data[0].numpy()
        full = s.gt_full_sem_seg.data[0].numpy()
        scribble = cv2.imread(osp.join(
            ds.data_root, 'weak/pseudo', s.sample_key + '.png'), 0)
        assert (target == full).all() != (target == scribble).all()
        out[s.sample_key] = bool((target == full).all())
    return out


def test_fraction_is_deterministic_and_per_sample(tiny_root):
    ds = _build(tiny_root, fraction=0.5)
    got = _targets(ds)
    assert sum(got.values()) == 2
    assert got == _targets(_build(tiny_root, fraction=0.5))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['supervision'] == ('full' if got[info['sample_key']]
                                       else 'weak')
    # the subset follows the seed, never the listing order
    other = [_targets(_build(tiny_root, fraction=0.5, seed=s))
             for s in range(1, 6)]
    assert any(o != got for o in other)
    assert not any(_targets(_build(tiny_root)).values())
    assert all(_targets(_build(tiny_root, fraction=1.0)).values())


def test_list_file_and_its_errors(tiny_root):
    with open(osp.join(tiny_root, 'full.txt'), 'w') as f:
        f.write('001\ntrain/003\n\n')
    got = _targets(_build(tiny_root, list_file='full.txt'))
    assert got == {'train/000': False, 'train/001': True,
                   'train/002': False, 'train/003': True}
    # full-subset images need no weak map
    os.remove(osp.join(tiny_root, 'weak/pseudo/train/001.png'))
    assert _targets(_build(tiny_root, list_file='full.txt'))['train/001']
    with open(osp.join(tiny_root, 'bad.txt'), 'w') as f:
        f.write('007\n')
    with pytest.raises(WeakAnnotationError, match='train/007.*not a sample'):
        _build(tiny_root, list_file='bad.txt')
    with pytest.raises(ValueError, match='fraction'):
        _build(tiny_root, fraction=1.5)
    cfg = full_dataset_cfg(tiny_root, pipeline=PIPELINE)
    del cfg['data_prefix']['seg_map_path']
    cfg['data_prefix']['pseudo_path'] = 'weak/pseudo/train'
    cfg['full_subset'] = dict(fraction=0.5)
    with pytest.raises(WeakAnnotationError, match='seg_map_path'):
        DATASETS.build(cfg)
