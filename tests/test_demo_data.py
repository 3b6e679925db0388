"""Tests of the synthetic demo dataset (tools/dataset/demo_corrosion.py)."""
import json
import os
import os.path as osp
import time

import cv2
import numpy as np
import pytest

from demo_corrosion import make_demo_corrosion  # tools/dataset (conftest)

WIDTHS = (2, 5, 10, 20)
WEAK_DIRS = [f'scribbles_w{w}' for w in WIDTHS] + ['points']


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The default demo set, generated once, with its generation time."""
    out = str(tmp_path_factory.mktemp('demo') / 'demo_corrosion')
    start = time.perf_counter()
    root = make_demo_corrosion(out, progress=False)
    return root, time.perf_counter() - start


def _files(root: str) -> dict:
    """Relative path -> bytes of every file under ``root``."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _ids(root: str, split: str) -> list:
    return sorted(n[:-4] for n in os.listdir(osp.join(root, 'img_dir', split)))


def test_fast_enough(demo):
    assert demo[1] < 20


def test_layout_and_metadata(demo):
    root = demo[0]
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['name'] == 'demo_corrosion'
    assert meta['classes'] == ['background', 'corrosion']
    assert meta['palette'] == [[0, 0, 0], [200, 80, 20]]
    assert meta['ignore_index'] == 255 and meta['counts'] == dict(train=48,
                                                                  val=16)
    assert '(seed 0)' in meta['source'] and meta['conversion']
    with open(osp.join(root, 'weak', 'tags.json')) as f:
        tags = json.load(f)
    with open(osp.join(root, 'weak', 'proportions.json')) as f:
        props = json.load(f)
    for split, n in meta['counts'].items():
        ids = _ids(root, split)
        assert ids == [f'{i:05d}' for i in range(n)]
        for sid in ids:
            img = cv2.imread(osp.join(root, 'img_dir', split, f'{sid}.jpg'))
            assert img.shape == (128, 128, 3)
            for sub in ['ann_dir'] + [osp.join('weak', d) for d in WEAK_DIRS]:
                assert osp.isfile(osp.join(root, sub, split, f'{sid}.png'))
            key = f'{split}/{sid}'
            assert abs(sum(props[key]) - 1) < 1e-3 and len(props[key]) == 2
            assert tags[key] == [c for c in (0, 1) if props[key][c] >= 1e-3]
    assert len(tags) == len(props) == 64


def test_corrosion_fraction(demo):
    root = demo[0]
    masks = [cv2.imread(osp.join(root, 'ann_dir', 'train', f'{sid}.png'), 0)
             for sid in _ids(root, 'train')]
    values = np.concatenate([m.ravel() for m in masks])
    assert set(np.unique(values).tolist()) <= {0, 1}
    assert 0.05 <= values.mean() <= 0.5
    assert sum(m.any() for m in masks) >= 0.75 * len(masks)


def test_weak_maps_agree_with_masks(demo):
    root = demo[0]
    labelled = {d: 0 for d in WEAK_DIRS}
    for split in ('train', 'val'):
        for sid in _ids(root, split):
            mask = cv2.imread(osp.join(root, 'ann_dir', split, f'{sid}.png'), 0)
            for d in WEAK_DIRS:
                weak = cv2.imread(
                    osp.join(root, 'weak', d, split, f'{sid}.png'), 0)
                on = weak != 255
                np.testing.assert_array_equal(weak[on], mask[on])
                labelled[d] += on.sum()
    assert 0 < labelled['points'] < labelled['scribbles_w2']
    assert labelled['scribbles_w2'] < labelled['scribbles_w20']


def test_deterministic(tmp_path):
    a = make_demo_corrosion(str(tmp_path / 'a'), 4, 2, size=64, progress=False)
    b = make_demo_corrosion(str(tmp_path / 'b'), 4, 2, size=64, progress=False)
    files_a, files_b = _files(a), _files(b)
    assert files_a.keys() == files_b.keys()
    assert any(k.endswith('.png') for k in files_a)
    for key in files_a:
        assert files_a[key] == files_b[key], key
    other = make_demo_corrosion(str(tmp_path / 'c'), 4, 2, size=64, seed=1,
                                progress=False)
    assert _files(other)['ann_dir/train/00000.png'] != files_a[
        'ann_dir/train/00000.png']


def test_existing_set_is_reused_or_refused(tmp_path):
    out = str(tmp_path / 'demo')
    make_demo_corrosion(out, 3, 1, size=64, progress=False)
    meta = osp.join(out, 'meta.json')
    ann = osp.join(out, 'ann_dir', 'train', '00000.png')
    stamps = (os.stat(meta).st_mtime_ns, os.stat(ann).st_mtime_ns)
    time.sleep(0.01)
    assert make_demo_corrosion(out, 3, 1, size=64, progress=False) == out
    assert (os.stat(meta).st_mtime_ns, os.stat(ann).st_mtime_ns) == stamps
    with pytest.raises(FileExistsError):
        make_demo_corrosion(out, 3, 1, size=64, seed=1, progress=False)
    make_demo_corrosion(out, 2, 1, size=64, progress=False, overwrite=True)
    assert _ids(out, 'train') == ['00000', '00001']
    assert not [n for n in os.listdir(tmp_path) if n != 'demo']  # no leftovers
