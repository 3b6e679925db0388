"""Inputs that used to train silently on wrong labels or fail late: EXIF
orientation, class metadata, map formats, late map errors."""
import os
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmseg.registry import DATASETS
from PIL import Image

from conftest import REPO, full_dataset_cfg, write_tiny_dataset
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.datasets.check import check_dataset, check_sizes
from mmseg_wsss.engine.hooks import DatasetCheckHook

PIPELINE = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full', 'scribble']),
    dict(type='PackWeakSegInputs', target='scribble'),
]


def _save_rotated_jpeg(path, pixels, orientation=6):
    """A JPEG whose stored pixels are ``pixels`` (RGB) and whose EXIF says
    "rotate 90 degrees to display"."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=100)


@pytest.mark.parametrize('hw', [(32, 32), (24, 40)],
                         ids=['square', 'non-square'])
def test_exif_orientation_is_ignored_so_maps_stay_aligned(tmp_path, hw):
    root = write_tiny_dataset(str(tmp_path / 'tiny'), size=32)
    h, w = hw
    mask = np.zeros((h, w), np.uint8)
    mask[:, : w // 4] = 1  # a left band, in image and maps alike
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[mask == 1] = 255
    img_path = osp.join(root, 'img_dir/train/000.jpg')
    _save_rotated_jpeg(img_path, pixels)
    for sub in ('ann_dir/train', 'weak/scribbles_w20/train',
                'weak/points/train'):
        cv2.imwrite(osp.join(root, sub, '000.png'), mask)
    cv2.imwrite(osp.join(root, 'inst_dir/train/000.png'),
                mask.astype(np.uint16))
    if hw != (32, 32):  # boxes of a 32x32 image
        os.remove(osp.join(root, 'instances/train.json'))
    # OpenCV's default decoding applies the tag: the bug this guards
    assert cv2.imread(img_path).shape[:2] == (w, h)
    ds = DATASETS.build(full_dataset_cfg(root, pipeline=PIPELINE))
    out = ds[0]
    img = out['inputs'].permute(1, 2, 0).numpy()
    assert img.shape[:2] == (h, w)
    bright = img.mean(2) > 127
    assert (bright == (out['data_samples'].gt_full_sem_seg.data[0] == 1)
            .numpy()).mean() > 0.99
    report = check_dataset(ds, nproc=1)
    assert report['exif_rotated'] == ['train/000']


def test_meta_json_problems_name_the_file(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'))
    meta = osp.join(root, 'meta.json')
    cfg = full_dataset_cfg(root)
    for content, problem in [
        ('{"classes": ["bg", "a", "b"', 'cannot read JSON'),
        ('{"palette": []}', '"classes" must be a non-empty list'),
        ('{"classes": ["bg", "a", "a"]}', 'repeats names'),
        ('{"classes": ["bg", "a", "b"], "palette": [[0, 0, 0]]}',
         'one [r, g, b]'),
    ]:
        with open(meta, 'w') as f:
            f.write(content)
        with pytest.raises(WeakAnnotationError) as err:
            DATASETS.build(cfg)
        assert meta in str(err.value) and problem in str(err.value)
    os.remove(meta)
    with pytest.raises(WeakAnnotationError, match='no class list'):
        DATASETS.build(cfg)


def _runner(dataset, num_classes, split='train'):
    model = SimpleNamespace(decode_head=SimpleNamespace(
        num_classes=num_classes))
    return SimpleNamespace(
        model=model, logger=MMLogger.get_instance('dataset_check'),
        **{f'{split}_dataloader': SimpleNamespace(dataset=dataset)})


def test_class_count_must_match_the_model_at_start(tiny_root):
    ds = DATASETS.build(full_dataset_cfg(tiny_root))
    DatasetCheckHook().before_train(_runner(ds, 3))
    with pytest.raises(ValueError) as err:
        DatasetCheckHook().before_test(_runner(ds, 4, 'test'))
    msg = str(err.value)
    assert osp.join(tiny_root, 'meta.json') in msg
    assert 'has 3 classes' in msg and 'predicts 4' in msg
    runtime = Config.fromfile(osp.join(REPO, 'configs/_base_/wsss_runtime.py'))
    assert runtime.default_hooks.dataset_check.type == 'DatasetCheckHook'


def test_preflight_finds_a_bad_validation_mask_before_training(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'))
    cv2.imwrite(osp.join(root, 'ann_dir/train/003.png'),
                np.zeros((30, 32), np.uint8))
    ds = DATASETS.build(full_dataset_cfg(root))
    with pytest.raises(WeakAnnotationError) as err:
        DatasetCheckHook().before_val(_runner(ds, 3, 'val'))
    assert "ann_dir/train/003.png: sample 'train/003'" in str(err.value)
    assert 'full map size 32x30 differs' in str(err.value)
    os.remove(osp.join(root, 'ann_dir/train/003.png'))
    cv2.imwrite(osp.join(root, 'ann_dir/train/003.png'),
                np.zeros((32, 32), np.uint8))
    assert check_sizes(ds) == 4 * 4  # full, scribble, points, instance ids


def _load_scribble(root):
    ds = DATASETS.build(full_dataset_cfg(root, pipeline=PIPELINE))
    return ds[1]['data_samples'].gt_scribble.data[0]


def test_palette_png_maps_are_read_as_their_indices(tiny_root):
    path = osp.join(tiny_root, 'weak/scribbles_w20/train/001.png')
    ids = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    img = Image.fromarray(ids, mode='P')
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0] + [9] * (256 * 3 - 9)
    img.putpalette(palette)
    img.save(path)
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).ndim == 3  # what OpenCV saw
    assert torch.equal(_load_scribble(tiny_root),
                       torch.from_numpy(ids.astype(np.int64)))


@pytest.mark.parametrize('write,problem', [
    (lambda p, m: cv2.imwrite(p + '.jpg', m) and os.replace(p + '.jpg', p),
     'this is a JPEG file'),
    (lambda p, m: open(p, 'w').close(), 'empty file'),
    (lambda p, m: open(p, 'wb').write(b'not a png at all'),
     'not a readable image'),
    (lambda p, m: cv2.imwrite(p, np.dstack([m, m, m]) * 50),
     'got a RGB image with 3 channels'),
], ids=['jpeg-named-png', 'empty', 'garbage', 'colour'])
def test_bad_map_files_name_the_real_problem(tiny_root, write, problem):
    path = osp.join(tiny_root, 'weak/scribbles_w20/train/001.png')
    write(path, cv2.imread(path, cv2.IMREAD_UNCHANGED))
    with pytest.raises(WeakAnnotationError) as err:
        _load_scribble(tiny_root)
    assert path in str(err.value) and "'train/001'" in str(err.value)
    assert problem in str(err.value)
