"""Write scribble + SLICO superpixel pseudo-masks for a whole dataset split
(Centroid Loss paper §IV-A) and score them against the full masks (wmIoU).

    python tools/dataset/make_pseudo_masks.py DATA_ROOT OUT_DIR
        [--split train] [--scribbles weak/scribbles_w20] [--n-segments 50]
        [--nproc 2]

Reads ``DATA_ROOT/img_dir/<split>``, ``DATA_ROOT/<scribbles>/<split>`` and,
when present, ``DATA_ROOT/ann_dir/<split>``; writes ``OUT_DIR/<split>/<id>.png``
(atomically; existing files are kept, so an interrupted run resumes),
an overlay per image in ``OUT_DIR/<split>_overlays/`` and
``OUT_DIR/<split>_report.json`` (wmIoU, labelled fraction). Point a config
at the result with ``data_prefix.pseudo_path=OUT_DIR/<split>`` and
``PackWeakSegInputs(target='pseudo')``.
"""
import argparse
import json
import os
import os.path as osp
from functools import partial
from typing import Optional, Tuple

import cv2
import numpy as np
from mmengine import track_parallel_progress, track_progress

from mmseg_wsss.algorithms.quality import confusion_counts, miou_from_counts
from mmseg_wsss.algorithms.superpixels import pseudo_mask_from_scribbles
from mmseg_wsss.datasets import WeakAnnotationError, read_image
from mmseg_wsss.utils import atomic_write_image, atomic_write_json
from mmseg_wsss.visualization import save_overlay


def _one(stem: str, root: str, split: str, scribbles: str, out_dir: str,
         n_segments: int, num_classes: int, palette: list
         ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray], float]:
    """Make (or reuse) one pseudo-mask; return its confusion counts."""
    out = osp.join(out_dir, split, f'{stem}.png')
    if osp.isfile(out):
        pseudo = read_image(out, stem)
    else:
        img = read_image(osp.join(root, 'img_dir', split, f'{stem}.jpg'), stem,
                    cv2.IMREAD_COLOR)
        scr_path = osp.join(root, scribbles, split, f'{stem}.png')
        scr = read_image(scr_path, stem)
        if scr.shape != img.shape[:2]:
            raise WeakAnnotationError(scr_path, stem,
                                      'scribble size differs from the image')
        rgb = img[..., ::-1].copy()
        pseudo = pseudo_mask_from_scribbles(rgb, scr, n_segments,
                                            num_classes)
        save_overlay(osp.join(out_dir, f'{split}_overlays', f'{stem}.png'),
                     rgb, pseudo, palette)
        atomic_write_image(out, pseudo)
    full_path = osp.join(root, 'ann_dir', split, f'{stem}.png')
    labelled = float((pseudo != 255).mean())
    if not osp.isfile(full_path):
        return None, None, labelled
    inter, union = confusion_counts(
        pseudo, read_image(full_path, stem), num_classes)
    return inter, union, labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root')
    parser.add_argument('out_dir')
    parser.add_argument('--split', default='train')
    parser.add_argument('--scribbles', default='weak/scribbles_w20')
    parser.add_argument('--n-segments', type=int, default=50)
    parser.add_argument('--nproc', type=int, default=2)
    args = parser.parse_args()
    with open(osp.join(args.data_root, 'meta.json')) as f:
        meta = json.load(f)
    num_classes = len(meta['classes'])
    img_dir = osp.join(args.data_root, 'img_dir', args.split)
    stems = sorted(osp.splitext(f)[0] for f in os.listdir(img_dir)
                   if f.endswith('.jpg'))
    os.makedirs(osp.join(args.out_dir, args.split), exist_ok=True)
    work = partial(_one, root=args.data_root, split=args.split,
                   scribbles=args.scribbles, out_dir=args.out_dir,
                   n_segments=args.n_segments, num_classes=num_classes,
                   palette=meta['palette'])
    results = (track_parallel_progress(work, stems, args.nproc)
               if args.nproc > 1 else track_progress(work, stems))
    report = dict(samples=len(stems), n_segments=args.n_segments,
                  scribbles=args.scribbles,
                  labelled_fraction=round(
                      float(np.mean([r[2] for r in results])), 4))
    if all(r[0] is not None for r in results):
        inter = np.sum([r[0] for r in results], axis=0)
        union = np.sum([r[1] for r in results], axis=0)
        report['wmIoU'] = round(miou_from_counts(inter, union) * 100, 2)
    atomic_write_json(osp.join(args.out_dir, f'{args.split}_report.json'),
                      report, indent=2)
    print(json.dumps(report))


if __name__ == '__main__':
    main()
