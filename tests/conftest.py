"""Shared fixtures: the real datasets in ../shared/data and a tiny dataset
written on the fly (for bad-input cases)."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# tools/dataset's modules (the data-link helper, the demo-set generator)
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset'))
from link_shared_data import SHARED_DATA, link_shared_data  # noqa: E402

SHARED_SETS = ('neu_seg', 'magnetic_tile', 'dubai_aerial', 'isbi_em',
               'camvid', 'coco128')


@pytest.fixture(scope='session', autouse=True)
def _mmseg_scope():
    # as the tools do: register everything (default scope 'mmseg') and
    # apply the compatibility fixes; importing mmseg_wsss does neither
    from mmseg_wsss.utils import register_all_modules, setup_env
    register_all_modules()
    setup_env()


@pytest.fixture(scope='session', autouse=True)
def _shared_data_links():
    """The configs' data/<set> roots (relative to the repository, which
    the tools run in) point at the shared sets where data/ lacks them."""
    link_shared_data()


def shared_root(name: str) -> str:
    root = osp.join(SHARED_DATA, name)
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'{root} is missing: the tests need ../shared/data beside the '
            'repository (or MMSEG_WSSS_DATA pointing at it)')
    return root


def write_tiny_dataset(root: str, n: int = 4, size: int = 32) -> str:
    """A 3-class dataset with every annotation type, all consistent."""
    rng = np.random.default_rng(0)
    for sub in ('img_dir/train', 'ann_dir/train', 'weak/scribbles_w20/train',
                'weak/points/train', 'inst_dir/train', 'instances'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    tags, props, images, anns = {}, {}, [], []
    for i in range(n):
        sid = f'{i:03d}'
        mask = np.zeros((size, size), np.uint8)
        mask[4:14, 4:20] = 1
        mask[18:28, 10:28] = 2
        inst = np.zeros((size, size), np.uint16)
        inst[mask == 1], inst[mask == 2] = 1, 2
        img = (rng.random((size, size, 3)) * 60 + mask[..., None] * 60)
        cv2.imwrite(osp.join(root, 'img_dir/train', f'{sid}.jpg'),
                    img.astype(np.uint8))
        cv2.imwrite(osp.join(root, 'ann_dir/train', f'{sid}.png'), mask)
        scr = np.full_like(mask, 255)
        scr[8:10, 6:18] = 1
        scr[22:24, 12:26] = 2
        scr[0:2, :] = 0
        cv2.imwrite(osp.join(root, 'weak/scribbles_w20/train', f'{sid}.png'),
                    scr)
        pts = np.full_like(mask, 255)
        pts[9, 10], pts[23, 20], pts[30, 2] = 1, 2, 0
        cv2.imwrite(osp.join(root, 'weak/points/train', f'{sid}.png'), pts)
        cv2.imwrite(osp.join(root, 'inst_dir/train', f'{sid}.png'), inst)
        tags[f'train/{sid}'] = [0, 1, 2]
        frac = np.bincount(mask.ravel(), minlength=3) / mask.size
        props[f'train/{sid}'] = frac.tolist()
        images.append(dict(id=i + 1, file_name=f'{sid}.jpg', width=size,
                           height=size))
        anns += [
            dict(id=2 * i + 1, image_id=i + 1, category_id=1, iscrowd=0,
                 bbox=[4, 4, 16, 10], inst_id=1),
            dict(id=2 * i + 2, image_id=i + 1, category_id=2, iscrowd=0,
                 bbox=[10, 18, 18, 10], inst_id=2),
        ]
    with open(osp.join(root, 'weak/tags.json'), 'w') as f:
        json.dump(tags, f)
    with open(osp.join(root, 'weak/proportions.json'), 'w') as f:
        json.dump(props, f)
    with open(osp.join(root, 'instances/train.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[
            dict(id=1, name='a'), dict(id=2, name='b')]), f)
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(dict(classes=['bg', 'a', 'b'],
                       palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]), f)
    return root


@pytest.fixture
def tiny_root(tmp_path) -> str:
    return write_tiny_dataset(str(tmp_path / 'tiny'))


def full_dataset_cfg(root: str, split: str = 'train', scribble_width=20,
                     pipeline=None) -> dict:
    """A WeakSegDataset config with every annotation ``root`` has."""
    prefix = dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')
    cand = dict(scribble_path=f'weak/scribbles_w{scribble_width}/{split}',
                point_path=f'weak/points/{split}',
                inst_map_path=f'inst_dir/{split}')
    prefix.update({k: v for k, v in cand.items()
                   if osp.isdir(osp.join(root, v))})
    files = dict(tags_file='weak/tags.json',
                 proportions_file='weak/proportions.json',
                 instances_file=f'instances/{split}.json')
    files = {k: v for k, v in files.items() if osp.isfile(osp.join(root, v))}
    return dict(type='WeakSegDataset', data_root=root, data_prefix=prefix,
                pipeline=pipeline or [], **files)
