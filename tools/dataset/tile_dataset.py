"""Tile a dataset into fixed-size patches with per-patch class proportions
(the SPSS paper's 224x224 / 256x256 patches, §3 "Implementation setup").

    python tools/dataset/tile_dataset.py SRC DST [--size 224] [--stride 224]
        [--splits train val] [--nproc 2]

Every image of ``SRC/img_dir/<split>`` is cut into ``size`` x ``size`` tiles
(``stride`` apart; the last row and column end at the border, see
:func:`mmseg_wsss.algorithms.proportions.tile_boxes`). Each tile's image
(lossless PNG), full mask and every weak pixel map of the source
(``weak/<name>/<split>/<id>.png``: scribbles, points) are written to the
same layout under ``DST`` with ids ``<id>_y<y0>_x<x0>``. The full mask of a
tile gives its proportions and tags - this simulates an annotator who states
the proportions of every patch - in ``DST/weak/proportions.json`` and
``DST/weak/tags.json``; ``DST/meta.json`` keeps the source's classes and
palette and records the tiling. Tiles whose mask is all ignore are left out.
Writes are atomic and existing tiles are kept, so an interrupted run
resumes; the JSON files are written last.
"""
import argparse
import json
import os
import os.path as osp
from functools import partial
from typing import Dict, List, Tuple

import cv2
import numpy as np
from mmengine import track_parallel_progress, track_progress

from mmseg_wsss.algorithms.proportions import tile_boxes
from mmseg_wsss.algorithms.weak_labels import class_proportions, image_tags
from mmseg_wsss.datasets import WeakAnnotationError, read_image
from mmseg_wsss.utils import atomic_write_image, atomic_write_json

IMG_SUFFIXES = ('.jpg', '.jpeg', '.png')


def _tile_one(name: str, src: str, dst: str, split: str, weak_maps: List[str],
              size: int, stride: int, num_classes: int
              ) -> List[Tuple[str, List[float], List[int]]]:
    """Write the tiles of one image; return (tile id, proportions, tags)."""
    stem = osp.splitext(name)[0]
    img = read_image(osp.join(src, 'img_dir', split, name), stem,
                     cv2.IMREAD_COLOR)
    ann_path = osp.join(src, 'ann_dir', split, f'{stem}.png')
    maps = {'ann_dir': read_image(ann_path, stem)}
    for weak in weak_maps:
        path = osp.join(src, 'weak', weak, split, f'{stem}.png')
        if osp.isfile(path):
            maps[osp.join('weak', weak)] = read_image(path, stem)
    for key, arr in maps.items():
        if arr.shape != img.shape[:2]:
            raise WeakAnnotationError(
                osp.join(src, key, split, f'{stem}.png'), stem,
                f'size {arr.shape} differs from the image {img.shape[:2]}')
    out = []
    for y0, x0, y1, x1 in tile_boxes(*img.shape[:2], size, stride):
        tile_id = f'{stem}_y{y0:04d}_x{x0:04d}'
        mask = maps['ann_dir'][y0:y1, x0:x1]
        props = class_proportions(mask, num_classes)
        if props.sum() == 0:  # all ignore: no proportions to state
            continue
        files = {osp.join(dst, 'img_dir', split, f'{tile_id}.png'):
                 img[y0:y1, x0:x1]}
        for key, arr in maps.items():
            files[osp.join(dst, key, split, f'{tile_id}.png')] = \
                arr[y0:y1, x0:x1]
        for path, arr in files.items():
            if not osp.isfile(path):
                atomic_write_image(path, np.ascontiguousarray(arr))
        out.append((tile_id, [round(float(p), 6) for p in props],
                    image_tags(mask, num_classes).tolist()))
    return out


def tile_dataset(src: str, dst: str, size: int, stride: int,
                 splits: List[str], nproc: int = 2) -> Dict[str, int]:
    """Tile ``splits`` of ``src`` into ``dst``; return tiles per split."""
    with open(osp.join(src, 'meta.json')) as f:
        meta = json.load(f)
    num_classes = len(meta['classes'])
    weak_root = osp.join(src, 'weak')
    weak_maps = sorted(d for d in os.listdir(weak_root)
                       if osp.isdir(osp.join(weak_root, d))) \
        if osp.isdir(weak_root) else []
    props, tags, counts = {}, {}, {}
    for split in splits:
        img_dir = osp.join(src, 'img_dir', split)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{img_dir} does not exist')
        names = sorted(f for f in os.listdir(img_dir)
                       if f.lower().endswith(IMG_SUFFIXES))
        work = partial(_tile_one, src=src, dst=dst, split=split,
                       weak_maps=weak_maps, size=size, stride=stride,
                       num_classes=num_classes)
        results = (track_parallel_progress(work, names, nproc)
                   if nproc > 1 else track_progress(work, names))
        counts[split] = 0
        for tiles in results:
            for tile_id, p, t in tiles:
                props[f'{split}/{tile_id}'] = p
                tags[f'{split}/{tile_id}'] = t
                counts[split] += 1
    atomic_write_json(osp.join(dst, 'weak', 'proportions.json'), props)
    atomic_write_json(osp.join(dst, 'weak', 'tags.json'), tags)
    tiled = {k: meta[k] for k in ('name', 'classes', 'palette',
                                  'ignore_index', 'source', 'license')
             if k in meta}
    tiled.update(
        img_suffix='.png', counts=counts,
        tiling=dict(source=osp.abspath(src), size=size, stride=stride,
                    note='per-tile proportions and tags from the full '
                    'masks; weak pixel maps cropped from the source'))
    atomic_write_json(osp.join(dst, 'meta.json'), tiled, indent=1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--stride', type=int, default=0,
                        help='default: --size (no overlap)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--nproc', type=int, default=2)
    args = parser.parse_args()
    counts = tile_dataset(args.src, args.dst, args.size, args.stride,
                          args.splits, args.nproc)
    print(json.dumps(counts))


if __name__ == '__main__':
    main()
