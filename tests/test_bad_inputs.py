"""Every malformed annotation raises WeakAnnotationError naming the file and
the sample, and the dataset checker then writes no report."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from conftest import REPO, full_dataset_cfg
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.utils.setup_env import REGISTRATION_MODULES

ALL = ['full', 'scribble', 'points', 'inst_map', 'tags', 'proportions',
       'boxes']


def _build(root):
    cfg = full_dataset_cfg(root)
    cfg['pipeline'] = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=ALL),
        dict(type='PackWeakSegInputs', target='scribble'),
    ]
    return DATASETS.build(cfg)


def _edit_json(path, fn):
    with open(path) as f:
        data = json.load(f)
    fn(data)
    with open(path, 'w') as f:
        json.dump(data, f)


def _scribble_out_of_range(root):
    p = osp.join(root, 'weak/scribbles_w20/train/001.png')
    m = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    m[5, 5] = 7
    cv2.imwrite(p, m)
    return p, 'class ids [7] out of range'


def _mask_wrong_size(root):
    p = osp.join(root, 'weak/points/train/001.png')
    cv2.imwrite(p, np.full((30, 32), 255, np.uint8))
    return p, 'differs from the image size'


def _negative_proportions(root):
    p = osp.join(root, 'weak/proportions.json')
    _edit_json(p, lambda d: d.__setitem__('train/001', [1.2, -0.2, 0.0]))
    return p, '>= 0'


def _proportions_not_one(root):
    p = osp.join(root, 'weak/proportions.json')
    _edit_json(p, lambda d: d.__setitem__('train/001', [0.5, 0.2, 0.2]))
    return p, 'sum to 0.900000'


def _unknown_tag(root):
    p = osp.join(root, 'weak/tags.json')
    _edit_json(p, lambda d: d.__setitem__('train/001', [0, 5]))
    return p, 'unknown class ids [5]'


def _box_outside(root):
    p = osp.join(root, 'instances/train.json')
    _edit_json(p, lambda d: d['annotations'][2].__setitem__(
        'bbox', [20, 20, 16, 4]))
    return p, 'outside'


def _box_zero_area(root):
    p = osp.join(root, 'instances/train.json')
    _edit_json(p, lambda d: d['annotations'][3].__setitem__(
        'bbox', [3, 3, 0, 5]))
    return p, 'zero area'


def _instance_id_not_in_json(root):
    p = osp.join(root, 'inst_dir/train/001.png')
    inst = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    inst[0, 0] = 7
    cv2.imwrite(p, inst)
    return p, 'instance ids [7] of the map have no box in the json'


def _unreadable_image(root):
    p = osp.join(root, 'img_dir/train/001.jpg')
    with open(p, 'wb') as f:
        f.write(b'not a jpeg')
    return p, 'unreadable image'


CASES = [_scribble_out_of_range, _mask_wrong_size, _negative_proportions,
         _proportions_not_one, _unknown_tag, _box_outside, _box_zero_area,
         _instance_id_not_in_json, _unreadable_image]


def test_clean_tiny_dataset_loads(tiny_root):
    ds = _build(tiny_root)
    assert len(ds) == 4
    s = ds[1]['data_samples']
    assert s.gt_instances.bboxes.tolist() == [[4, 4, 20, 14], [10, 18, 28, 28]]


@pytest.mark.parametrize('corrupt', CASES, ids=lambda f: f.__name__[1:])
def test_bad_input_error_names_file_and_sample(tiny_root, corrupt):
    path, problem = corrupt(tiny_root)
    with pytest.raises(WeakAnnotationError) as err:
        ds = _build(tiny_root)
        for i in range(len(ds)):
            ds[i]
    msg = str(err.value)
    assert path in msg
    assert '001' in msg
    assert problem in msg


def _write_config(tmp_path, root):
    cfg = tmp_path / 'check_cfg.py'
    cfg.write_text(
        f'custom_imports = dict(imports={list(REGISTRATION_MODULES)!r}, '
        'allow_failed_imports=False)\n'
        f'train_dataloader = dict(dataset={full_dataset_cfg(root)!r})\n')
    return str(cfg)


@pytest.mark.parametrize('corrupt', [_scribble_out_of_range, _box_outside],
                         ids=['pixel', 'image_level'])
def test_checker_writes_nothing_on_bad_input(tiny_root, tmp_path, corrupt):
    cfg = _write_config(tmp_path, tiny_root)
    out = tmp_path / 'report.json'
    cmd = [sys.executable, osp.join(REPO, 'tools/dataset/check_dataset.py'),
           cfg, '--splits', 'train', '--out', str(out), '--nproc', '1']
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.load(open(out))['train']['samples'] == 4
    # the report of that successful run must not survive a failed check
    path, problem = corrupt(tiny_root)
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode != 0
    assert path in bad.stderr and problem in bad.stderr
    assert not out.exists()
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]
