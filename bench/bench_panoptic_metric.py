"""Speed of the Panoptic Quality (eq. 5 of Li, Arnab and Torr, ECCV 2018)
against panopticapi, on the coco128 validation split.

The 28 images of ``coco128`` (``ann_dir/val`` class maps, ``inst_dir/val``
uint16 instance ids; the 72 classes of its ``meta.json``: things 1-71,
stuff the background 0) are the ground truth; the predictions are the
ground truth perturbed with a fixed seed so that the matching is
non-trivial: each instance is dropped (10 %), merged into another instance
of its class in the image (10 %), dilated or eroded by 1-4 pixels or
shifted by up to 6 pixels, and 1 % of the thing pixels become background.

Timed on the same segment id maps and segments (each split: 28 images,
then the all / things / stuff averages), median of ``--repeats`` runs, the
methods taking turns:

* ``ours``: :func:`~mmseg_wsss.algorithms.panoptic.pq_stats` per image,
  :func:`~mmseg_wsss.algorithms.panoptic.pq_average`;
* ``panopticapi``: the port of ``pq_compute_single_core`` + ``PQStat.
  pq_average`` in ``tests/panopticapi_reference.py`` (the same per-image
  code, without the PNG decoding);
* ``ours_from_maps``: ours including the segment extraction
  (:func:`~mmseg_wsss.algorithms.panoptic.panoptic_segments`) of the
  prediction and the ground truth from the class and instance maps.

Both PQ computations must agree (1e-9); the script exits otherwise.

    OMP_NUM_THREADS=1 python bench/bench_panoptic_metric.py [--repeats 5]
"""
import argparse
import glob
import json
import os.path as osp
import sys

import cv2
import numpy as np

from common import (REPO, SHARED_DATA, median_seconds, print_table,
                    save_json)

sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests'))
from mmseg_wsss.algorithms.panoptic import (PQStats,  # noqa: E402
                                            panoptic_segments, pq_average,
                                            pq_stats)
from panopticapi_reference import pq_compute  # noqa: E402


def load_split(root: str):
    """(class map, instance map) of each validation image."""
    pairs = []
    for path in sorted(glob.glob(osp.join(root, 'ann_dir', 'val', '*.png'))):
        sem = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        inst = cv2.imread(osp.join(root, 'inst_dir', 'val',
                                   osp.basename(path)), cv2.IMREAD_UNCHANGED)
        pairs.append((sem, inst))
    return pairs


def perturb(sem: np.ndarray, inst: np.ndarray, rng: np.random.Generator):
    """A prediction: the ground truth with instances dropped, merged,
    dilated, eroded or shifted (see the module docstring)."""
    p_sem = np.where(inst > 0, 0, sem).astype(np.uint8)
    p_inst = np.zeros_like(inst)
    ids = [int(i) for i in np.unique(inst) if i > 0]
    kernel = np.ones((3, 3), np.uint8)
    for i in ids:
        mask = (inst == i).astype(np.uint8)
        cls = int(np.bincount(sem[mask > 0]).argmax())
        r = rng.random()
        if r < 0.1:
            continue
        target = i
        if r < 0.2:  # merged into another instance of its class
            same = [j for j in ids if j != i
                    and np.any(sem[inst == j] == cls)]
            target = int(rng.choice(same)) if same else i
        elif r < 0.45:
            mask = cv2.dilate(mask, kernel,
                              iterations=int(rng.integers(1, 5)))
        elif r < 0.7:
            mask = cv2.erode(mask, kernel, iterations=int(rng.integers(1, 5)))
        else:
            mask = np.roll(mask, tuple(int(v) for v in rng.integers(
                -6, 7, 2)), (0, 1))
        p_sem[mask > 0], p_inst[mask > 0] = cls, target
    lost = (p_inst > 0) & (rng.random(sem.shape) < 0.01)
    p_sem[lost], p_inst[lost] = 0, 0
    return p_sem, p_inst


def info(segments):
    return [dict(id=int(i), category_id=int(c), area=int(a),
                 iscrowd=int(k))
            for i, c, a, k in zip(segments.ids, segments.categories,
                                  segments.areas, segments.iscrowd)]


def ours(images, groups):
    stats = sum((pq_stats(pm, ps, gm, gs) for gm, gs, pm, ps in images),
                PQStats())
    return {k: pq_average(stats, cats) for k, cats in groups.items()}


def ours_from_maps(pairs, groups):
    return ours([(*panoptic_segments(sem, inst, groups['things']),
                  *panoptic_segments(p_sem, p_inst, groups['things']))
                 for sem, inst, p_sem, p_inst in pairs], groups)


def reference(images, categories):
    _, results = pq_compute(images, categories)
    return dict(all=results['All'], things=results['Things'],
                stuff=results['Stuff'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    root = osp.join(SHARED_DATA, 'coco128')
    with open(osp.join(root, 'meta.json')) as f:
        classes = range(len(json.load(f)['classes']))
    groups = dict(all=classes, things=classes[1:], stuff=classes[:1])
    rng = np.random.default_rng(args.seed)
    pairs = [(sem, inst, *perturb(sem, inst, rng))
             for sem, inst in load_split(root)]
    images = [(*panoptic_segments(sem, inst, groups['things']),
               *panoptic_segments(p_sem, p_inst, groups['things']))
              for sem, inst, p_sem, p_inst in pairs]
    ref_images = [(gm, info(gs), pm, info(ps)) for gm, gs, pm, ps in images]
    categories = {c: dict(isthing=int(c > 0)) for c in classes}

    ours_pq = ours(images, groups)
    ref_pq = reference(ref_images, categories)
    if ours_from_maps(pairs, groups) != ours_pq:
        sys.exit('ours from the maps and from the segments differ')
    for group in groups:
        for key in ('pq', 'sq', 'rq'):
            if abs(ours_pq[group][key] - ref_pq[group][key]) > 1e-9:
                sys.exit(f'{group} {key}: ours {ours_pq[group][key]} vs '
                         f'panopticapi {ref_pq[group][key]}')
        if ours_pq[group]['n'] != ref_pq[group]['n']:
            sys.exit(f'{group}: different numbers of classes')

    # one split per method in turn, repeated: all see the same load
    runs = [[median_seconds(fn, 1) for fn in (
        lambda: ours(images, groups),
        lambda: reference(ref_images, categories),
        lambda: ours_from_maps(pairs, groups))] for _ in range(args.repeats)]
    t_ours, t_ref, t_maps = np.median(runs, 0).tolist()
    rows = [
        dict(method=name, seconds_per_split=round(t, 4),
             ms_per_image=round(1e3 * t / len(images), 2),
             vs_panopticapi=round(t_ref / t, 1),
             PQ=round(100 * res['all']['pq'], 4),
             PQ_th=round(100 * res['things']['pq'], 4),
             PQ_st=round(100 * res['stuff']['pq'], 4))
        for name, t, res in (('ours', t_ours, ours_pq),
                             ('panopticapi', t_ref, ref_pq),
                             ('ours_from_maps', t_maps, ours_pq))
    ]
    print_table(rows, ['method', 'seconds_per_split', 'ms_per_image',
                       'vs_panopticapi', 'PQ', 'PQ_th', 'PQ_st'])
    segments = sum(len(gs.ids) + len(ps.ids) for _, gs, _, ps in images)
    path = save_json('panoptic_metric.json', dict(
        split='coco128 val', images=len(images), seed=args.seed,
        repeats=args.repeats, segments=segments,
        pixels=int(sum(sem.size for sem, *_ in pairs)),
        same_pq_1e9=True, ours=ours_pq, panopticapi=ref_pq, rows=rows))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
