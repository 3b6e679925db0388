"""BES (paper 004_5070bdb16ae301dd) on this CPU: Table 1 (pseudo-label
quality on the training split), an oracle-CAM row, BENet's boundary
quality (Fig. 4) and the retrained segmentation network (§4.3), per dataset
and seed.

Per dataset (neu_seg: class 0 background; camvid: none) and seed:

1. ``cam`` and ``attn``: the CAM classifier with global average pooling
   (``configs/dsrg/cam_*``, DSRG's) and with attention pooling
   (``configs/bes/cam-attn_*``, eq. 6-7), trained on the image tags; for
   each, ``make_bes_labels.py boundaries`` (eq. 1-3), a BENet trained on
   those labels (``configs/bes/bes-benet_*``, eq. 4) and
   ``make_bes_labels.py labels`` (random walk eq. 5 + dCRF eq. 9): the
   report's ``cam`` / ``random_walk`` / ``dcrf`` precision, recall and mIoU
   over the train split are Table 1's rows;
2. ``oracle``: localization maps made from the full masks (each present
   class's mask eroded by ``--oracle-erode`` pixels, blurred by a Gaussian
   of sigma ``--oracle-sigma``, divided by its maximum), then the same
   boundary labels, BENet, random walk and dCRF (the same functions,
   :mod:`mmseg_wsss.algorithms.bes`): the boundary stage apart from the
   CAMs;
3. BENet's boundaries on the val split against the class-agnostic edges of
   the full masks (``BoundaryMetric``, 2-pixel tolerance), per BENet;
4. ``retrain``: DeepLab-ASPP (``configs/bes/bes-retrain_*``) on the
   ``attn`` labels (+dCRF), and ``full``: the same network and schedule on
   the full masks (``configs/bes/full_*``); val mIoU, weak / full.

Every network is MMSeg's ResNetV1c-18 (d8) with ``--base-channels`` as stem
and first-stage width (64: the configs' network), heads scaled along as in
``bench_dsrg.py``; every training gets ``randomness.seed=<seed>``.

    python bench/bench_bes.py [--iters 1000] [--base-channels 16]
        [--datasets neu_seg camvid] [--seeds 0 1] [--name bes]
        [--stride 4 --steps 256]   # the random walk (IRN's: 4, 2^8)
    python bench/bench_bes.py --gt-boundary   # 5. below, no training

5. ``--gt-boundary``: the oracle maps walked within the ground-truth
   boundaries (the edges of the full masks) instead of BENet's, for a grid
   of walk strides and step counts: the random walk with a perfect
   boundary map.

Resumable (trainings with a ``last_checkpoint``, label stages with a
report, tests already run are kept). Prints the tables (mean and spread
over the seeds); writes bench/results/<name>.json after every stage.
"""
import argparse
import json
import os
import os.path as osp
import sys
from types import SimpleNamespace
from typing import Dict, List

import mmcv
import numpy as np
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from PIL import Image
from scipy import ndimage

from bench_dsrg import cli, iter_s, network, schedule, tested, trained
from common import (REPO, RESULTS, SHARED_DATA, mean_spread, print_table,
                    run_tool, save_json, setup_mmseg_wsss)

sys.path.insert(0, osp.join(REPO, 'tools', 'dataset'))

CAM_CONFIGS = dict(cam='configs/dsrg/cam_r18-d8_1k_{ds}-160x160.py',
                   attn='configs/bes/cam-attn_r18-d8_1k_{ds}-160x160.py')
BENET = 'configs/bes/bes-benet_r18-d8_1k_{ds}-128x128.py'
RETRAIN = dict(retrain='configs/bes/'
               'bes-retrain_r18-d8-aspp_1k_{ds}-128x128.py',
               full='configs/bes/full_r18-d8-aspp_1k_{ds}-128x128.py')
STAGES = ('cam', 'random_walk', 'dcrf')


def cfg_path(template: str, ds: str) -> str:
    return template.format(ds=ds.replace('_', '-'))


def benet_net(b: int) -> Dict[str, object]:
    """BENet options of a ResNetV1c-18 of width ``b``: its four stages."""
    return {'model.backbone.stem_channels': b,
            'model.backbone.base_channels': b,
            'model.decode_head.in_channels': f'[{b},{2 * b},{4 * b},{8 * b}]'}


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def train_benet(ds: str, work: str, boundary_dir: str, opts: List[str],
                b: int) -> dict:
    """BENet on ``boundary_dir``, tested on val (BoundaryMetric)."""
    cfg = cfg_path(BENET, ds)
    bopts = opts + cli(benet_net(b)) + [
        f'train_dataloader.dataset.data_prefix.boundary_path={boundary_dir}']
    ckpt, m = tested(cfg, work, bopts)
    return dict(ckpt=ckpt, cfg=cfg, opts=bopts, iter_s=iter_s(work),
                **{k: m[k] for k in ('BoundaryPrecision', 'BoundaryRecall',
                                     'BoundaryF')})


def stage_scores(report: dict) -> dict:
    return {name: {k: s.get(k) for k in ('precision', 'recall', 'mIoU')}
            for name, s in report['stages'].items()}


def bes_variant(ds: str, variant: str, work: str, opts: List[str],
                b: int, walk: dict) -> dict:
    """CAM classifier -> boundary labels -> BENet -> pseudo labels (the
    random walk's ``stride`` and ``steps`` from ``walk``)."""
    cam_cfg = cfg_path(CAM_CONFIGS[variant], ds)
    cam_opts = opts + cli(network(b, False))
    cam_ckpt = trained(cam_cfg, osp.join(work, variant), cam_opts)
    out = osp.join(work, f'{variant}_bes')
    report = osp.join(out, 'boundaries', 'train_report.json')
    if not osp.isfile(report):
        run_tool(['tools/dataset/make_bes_labels.py', 'boundaries', cam_cfg,
                  cam_ckpt, out, '--cfg-options', *cam_opts])
    boundary = read_json(report)
    benet = train_benet(ds, osp.join(work, f'{variant}_benet'),
                        osp.join(out, 'boundaries', 'train'), opts, b)
    report = osp.join(out, 'labels', 'train_report.json')
    if not osp.isfile(report):
        run_tool(['tools/dataset/make_bes_labels.py', 'labels', cam_cfg,
                  cam_ckpt, benet['cfg'], benet['ckpt'], out,
                  '--stride', str(walk['stride']),
                  '--steps', str(walk['steps']),
                  '--cfg-options', *cam_opts, '--benet-cfg-options',
                  *benet['opts']])
    labels = read_json(report)
    return dict(stages=stage_scores(labels),
                eq1=boundary['stages']['eq1'],
                boundary_labels=boundary['boundary_labels'],
                benet={k: v for k, v in benet.items()
                       if k not in ('cfg', 'opts')},
                cam_iter_s=iter_s(osp.join(work, variant)),
                labels_dir=osp.join(out, 'labels', 'train'))


# ------------------------------------------------------------- oracle
def oracle_cams(full: np.ndarray, classes: List[int], num_classes: int,
                erode: int, sigma: float) -> np.ndarray:
    """``(C, H, W)`` maps of the present ``classes``: each mask eroded by
    ``erode`` pixels (kept whole when that empties it), blurred by a
    Gaussian of ``sigma`` pixels and divided by its maximum (eq. 8)."""
    cams = np.zeros((num_classes, *full.shape), dtype=np.float32)
    for c in classes:
        mask = full == c
        core = ndimage.binary_erosion(mask, iterations=erode)
        blurred = ndimage.gaussian_filter(
            (core if core.any() else mask).astype(np.float32), sigma)
        cams[c] = blurred / max(blurred.max(), 1e-6)
    return cams


def oracle_samples(ds: str, bg_index):
    """(stem, RGB image, full mask, present foreground-or-all classes)."""
    root = osp.join(SHARED_DATA, ds)
    for name in sorted(os.listdir(osp.join(root, 'img_dir', 'train'))):
        stem = osp.splitext(name)[0]
        img = mmcv.imread(osp.join(root, 'img_dir', 'train', name),
                          'color_ignore_orientation', channel_order='rgb')
        full = np.asarray(Image.open(
            osp.join(root, 'ann_dir', 'train', stem + '.png')))
        classes = [int(c) for c in np.unique(full) if c != 255]
        yield stem, img, full, classes


def oracle_boundaries(ds: str, out: str, args, num_classes: int,
                      bg_index) -> None:
    """Boundary labels (eq. 1-3) of the oracle maps into ``out``."""
    from mmseg_wsss.algorithms.bes import boundary_labels
    from mmseg_wsss.utils import atomic_write_json
    from mmengine.utils import ProgressBar
    tmp = out + '.tmp'
    os.makedirs(tmp, exist_ok=True)
    bar = ProgressBar(len(os.listdir(osp.join(SHARED_DATA, ds, 'img_dir',
                                              'train'))))
    for stem, img, full, classes in oracle_samples(ds, bg_index):
        bar.update()
        cams = oracle_cams(full, classes, num_classes, args.oracle_erode,
                           args.oracle_sigma)
        regions = boundary_labels(cams, classes, img, bg_index=bg_index)
        Image.fromarray(regions.regions).save(osp.join(tmp, stem + '.png'))
    os.rename(tmp, out)
    atomic_write_json(out + '_done.json', dict(n=len(os.listdir(out))))


def oracle_labels(ds: str, benet: dict, args, num_classes: int,
                  bg_index) -> dict:
    """Random walk + dCRF of the oracle maps with the trained BENet: the
    quality of the cam / random_walk / dcrf maps over the train split."""
    import torch
    from make_bes_labels import BESLabeller, load_benet
    from mmseg_wsss.algorithms import LabelQuality
    from mmseg_wsss.algorithms.bes import bes_pseudo_labels
    from mmseg_wsss.apis import load_config
    from make_seeds import dataset_cfg
    from mmengine.config import DictAction
    cfg = load_config(osp.join(REPO, benet['cfg']), {
        k: DictAction._parse_iterable(v)
        for k, v in (o.split('=', 1) for o in benet['opts'])})
    model = load_benet(cfg, benet['ckpt'])
    cam_cfg = load_config(osp.join(REPO, cfg_path(CAM_CONFIGS['attn'], ds)),
                          {'test_dataloader.dataset.data_root':
                           osp.join(SHARED_DATA, ds)})
    dataset = DATASETS.build(dataset_cfg(cam_cfg, 'train'))
    walker = SimpleNamespace(benet=model, flip=True)
    quality = {k: LabelQuality() for k in STAGES}
    samples = {stem: (img, full, classes) for stem, img, full, classes
               in oracle_samples(ds, bg_index)}
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(dataset))
    with torch.no_grad():
        for i in range(len(dataset)):
            bar.update()
            data = pseudo_collate([dataset[i]])
            stem = osp.splitext(osp.basename(
                data['data_samples'][0].img_path))[0]
            img, full, classes = samples[stem]
            prob = BESLabeller.boundary(walker, data)[0].numpy()
            cams = oracle_cams(full, classes, num_classes, args.oracle_erode,
                               args.oracle_sigma)
            out = bes_pseudo_labels(cams, classes, prob, img,
                                    stride=args.stride, steps=args.steps,
                                    bg_index=bg_index)
            for k, labels in zip(STAGES, out):
                quality[k].add(labels, full)
    return {k: {m: round(v * 100, 2) for m, v in
                zip(('precision', 'recall', 'mIoU'),
                    (q.scores()['precision'], q.scores()['recall'],
                     q.scores()['IoU']))}
            for k, q in quality.items()}


def oracle_variant(ds: str, work: str, opts: List[str], args) -> dict:
    setup_mmseg_wsss()
    meta = read_json(osp.join(SHARED_DATA, ds, 'meta.json'))
    num_classes = len(meta['classes'])
    bg_index = 0 if ds == 'neu_seg' else None
    out = osp.join(work, 'oracle_bes', 'boundaries', 'train')
    if not osp.isfile(out + '_done.json'):
        oracle_boundaries(ds, out, args, num_classes, bg_index)
    benet = train_benet(ds, osp.join(work, 'oracle_benet'), out, opts,
                        args.base_channels)
    path = osp.join(work, 'oracle_bes', 'labels_report.json')
    if not osp.isfile(path):
        save_stages = oracle_labels(ds, benet, args, num_classes, bg_index)
        from mmseg_wsss.utils import atomic_write_json
        atomic_write_json(path, save_stages)
    return dict(stages=read_json(path),
                benet={k: v for k, v in benet.items()
                       if k not in ('cfg', 'opts')})


def gt_boundary_walk(ds: str, args) -> List[dict]:
    """The oracle maps walked (eq. 5) within the ground-truth boundaries
    (the class-agnostic edges of the full masks, dilated by one pixel) in
    place of BENet's, for each ``stride:steps`` of ``args.walk_grid``: what
    the random walk gives with a perfect boundary map (no CRF, no training,
    seed-independent), on every ``args.every``-th training image."""
    from mmseg_wsss.algorithms import LabelQuality, gt_boundaries
    from mmseg_wsss.algorithms.bes import bes_pseudo_labels
    setup_mmseg_wsss()
    meta = read_json(osp.join(SHARED_DATA, ds, 'meta.json'))
    num_classes = len(meta['classes'])
    bg_index = 0 if ds == 'neu_seg' else None
    samples = [s for k, s in enumerate(oracle_samples(ds, bg_index))
               if k % args.every == 0]
    rows = []
    for cell in args.walk_grid:
        stride, steps = (int(v) for v in cell.split(':'))
        quality = {k: LabelQuality() for k in ('cam', 'walk')}
        for _, img, full, classes in samples:
            cams = oracle_cams(full, classes, num_classes, args.oracle_erode,
                               args.oracle_sigma)
            edges = ndimage.binary_dilation(gt_boundaries(full))
            out = bes_pseudo_labels(cams, classes, edges.astype(np.float64),
                                    img, stride=stride, steps=steps,
                                    crf=None, bg_index=bg_index)
            quality['cam'].add(out.cam, full)
            quality['walk'].add(out.walk, full)
        rows.append(dict(dataset=ds, images=len(samples), stride=stride,
                         steps=steps, **{
                             f'{k}_mIoU': round(q.scores()['IoU'] * 100, 2)
                             for k, q in quality.items()}))
        print(json.dumps(rows[-1]), flush=True)
    return rows


# ------------------------------------------------------------- retrain
def retrain(ds: str, row: str, work: str, opts: List[str], b: int,
            labels: str) -> dict:
    cfg = cfg_path(RETRAIN[row], ds)
    ropts = opts + cli(network(b, True))
    if row == 'retrain':  # SupervisionQualityHook: 4 measures, not 20
        ropts += ['custom_hooks.0.interval=250',
                  f'train_dataloader.dataset.data_prefix.pseudo_path='
                  f'{labels}']
    _, m = tested(cfg, work, ropts)
    return dict(mIoU=round(m['mIoU'], 2), mPrec=round(m['mPrecision'], 2),
                mRec=round(m['mRecall'], 2), F1=round(m['F1'], 2),
                iter_s=iter_s(work))


# ------------------------------------------------------------- tables
def summary(result: dict) -> dict:
    """Per dataset: Table 1 rows, BENet F and the retrain rows, as mean ±
    half-range over the seeds."""
    table1, boundary, rows = [], [], []
    for ds, by_seed in result['datasets'].items():
        seeds = list(by_seed.values())
        for variant, label in (('cam', 'CAM'), ('attn', 'attention CAM'),
                               ('oracle', 'oracle CAM')):
            runs = [s[variant] for s in seeds if variant in s]
            if not runs:
                continue
            for stage, suffix in zip(STAGES, ('', ' + BE', ' + BE + dCRF')):
                table1.append(dict(dataset=ds, row=label + suffix, **{
                    m: mean_spread([r['stages'][stage][m] for r in runs])
                    for m in ('mIoU', 'precision', 'recall')},
                    seeds=len(runs)))
            boundary.append(dict(dataset=ds, benet=label, **{
                k: mean_spread([r['benet'][k] for r in runs]) for k in
                ('BoundaryPrecision', 'BoundaryRecall', 'BoundaryF')}))
        full = [s['full']['mIoU'] for s in seeds if 'full' in s]
        for row in ('retrain', 'full'):
            runs = [s[row] for s in seeds if row in s]
            if not runs:
                continue
            ratio = [r['mIoU'] / f for r, f in zip(runs, full)] \
                if len(full) == len(runs) else []
            rows.append(dict(dataset=ds, row='BES' if row == 'retrain'
                             else 'full', **{
                                 m: mean_spread([r[m] for r in runs])
                                 for m in ('mIoU', 'mPrec', 'mRec')},
                             weak_full=mean_spread(ratio), seeds=len(runs)))
    return dict(table1=table1, boundary=boundary, retrain=rows)


def print_summary(s: dict) -> None:
    print_table(s['table1'], ['dataset', 'row', 'mIoU', 'precision',
                              'recall', 'seeds'])
    print()
    print_table(s['boundary'], ['dataset', 'benet', 'BoundaryPrecision',
                                'BoundaryRecall', 'BoundaryF'])
    print()
    print_table(s['retrain'], ['dataset', 'row', 'mIoU', 'mPrec', 'mRec',
                               'weak_full', 'seeds'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument('--base-channels', type=int, default=16)
    parser.add_argument('--datasets', nargs='+',
                        default=['neu_seg', 'camvid'])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--variants', nargs='+',
                        default=['attn', 'cam', 'oracle', 'retrain', 'full'])
    parser.add_argument('--oracle-erode', type=int, default=3)
    parser.add_argument('--oracle-sigma', type=float, default=6.0)
    parser.add_argument('--stride', type=int, default=4,
                        help='random-walk stride (IRN: 4)')
    parser.add_argument('--steps', type=int, default=256,
                        help='random-walk steps (IRN: 2^8)')
    parser.add_argument('--name', default='bes')
    parser.add_argument('--gt-boundary', action='store_true',
                        help='only the oracle maps walked within the '
                        'ground-truth boundaries, per dataset and '
                        '--walk-grid cell, into <name>_gt_boundary_e<E>_'
                        's<S>.json')
    parser.add_argument('--walk-grid', nargs='+',
                        default=['4:256', '4:16', '2:64', '2:16'],
                        help='stride:steps cells of --gt-boundary')
    parser.add_argument('--every', type=int, default=10,
                        help='--gt-boundary: every N-th training image')
    args = parser.parse_args()
    if args.gt_boundary:
        rows = [r for ds in args.datasets for r in gt_boundary_walk(ds, args)]
        print_table(rows, list(rows[0]))
        save_json(f'{args.name}_gt_boundary_e{args.oracle_erode}_'
                  f's{args.oracle_sigma:g}.json',
                  dict(oracle_erode=args.oracle_erode,
                       oracle_sigma=args.oracle_sigma, rows=rows))
        return
    setup = dict(iters=args.iters, base_channels=args.base_channels,
                 oracle_erode=args.oracle_erode,
                 oracle_sigma=args.oracle_sigma)
    walk = dict(stride=args.stride, steps=args.steps)
    if walk != dict(stride=4, steps=256):  # IRN's walk: older files lack it
        setup.update(walk)
    path = osp.join(RESULTS, f'{args.name}.json')
    result = dict(**setup, datasets={})
    if osp.isfile(path):
        old = read_json(path)
        if all(old.get(k) == v for k, v in setup.items()):
            result = old
    root = osp.join(RESULTS, 'work_dirs', args.name,
                    f'b{args.base_channels}_i{args.iters}')

    def save() -> None:
        result['summary'] = summary(result)
        save_json(f'{args.name}.json', result)

    for seed in args.seeds:
        for ds in args.datasets:
            out = result['datasets'].setdefault(ds, {}).setdefault(
                str(seed), {})
            work = osp.join(root, ds, f's{seed}')
            opts = schedule(ds, args.iters) + [f'randomness.seed={seed}']
            b = args.base_channels
            for v in args.variants:
                if v in ('cam', 'attn'):
                    out[v] = bes_variant(ds, v, work, opts, b, walk)
                elif v == 'oracle':
                    out[v] = oracle_variant(ds, work, opts, args)
                elif v == 'retrain':
                    if 'attn' not in out:
                        sys.exit('retrain: run the attn variant first')
                    out[v] = retrain(ds, v, osp.join(work, 'retrain'), opts,
                                     b, out['attn']['labels_dir'])
                else:
                    out[v] = retrain(ds, v, osp.join(work, 'full'), opts, b,
                                     '')
                print(ds, seed, v, json.dumps(out[v])[:400], flush=True)
                save()
    save()
    print_summary(result['summary'])
    print('saved', path)


if __name__ == '__main__':
    main()
