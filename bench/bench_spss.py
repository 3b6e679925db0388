"""Semantic-proportion supervision (SPSS paper) on this CPU.

* ``dubai_aerial``: SPSS vs the full-mask benchmark (same U-Net, patches and
  schedule; the paper's Table 1: mIoU, per-class F1, mean accuracy), the
  Gaussian-noise table (eq. 5, Table 3) and the clustering table (Table 4).
* ``isbi_em``: SPSS+ (proportions + keypoints) vs the benchmark (Table 2).
* Training-step time of SPSS vs the same network with pixel CE, steps
  interleaved in one process, medians (target about 1.0x).

Patches come from ``tools/dataset/tile_dataset.py`` and degraded
proportions from ``tools/dataset/degrade_proportions.py``; every row trains
from scratch and is tested on the full-size validation images.

    python bench/bench_spss.py [--iters 1000] [--sens-iters 400]
        [--em-iters 300] [--rows ...] [--speed-steps 20]

Rows already trained (a ``row.json`` in their work dir) are reused. Prints
the tables and writes bench/results/spss.json.
"""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys

import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from common import (REPO, RESULTS, SHARED_DATA, interleaved_step_times,
                    print_table, save_json, schedule_options,
                    setup_mmseg_wsss, train_then_test)

WORK = osp.join(RESULTS, 'work_dirs', 'spss')
DATA = dict(dubai_aerial=('dubai_aerial_p224', 224),
            isbi_em=('isbi_em_p256', 256))
NOISE = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
CLUSTERS = (100, 50, 20, 10, 5)
FULL_DUBAI = 'full_unet-s5_1k_dubai-aerial-112x112'
SPSS_DUBAI = 'spss_unet-s5_1k_dubai-aerial-112x112'
# row -> (dataset, config in configs/spss/, degradation arguments or None,
# schedule); the noise and cluster tables share a shorter schedule with
# their own clean row
ROWS = {
    'dubai/FULL': ('dubai_aerial', FULL_DUBAI, None, 'main'),
    'dubai/SPSS': ('dubai_aerial', SPSS_DUBAI, None, 'main'),
    'dubai/sens-clean': ('dubai_aerial', SPSS_DUBAI, None, 'sens'),
    **{f'dubai/noise{s}': ('dubai_aerial', SPSS_DUBAI,
                           ['--noise', str(s)], 'sens') for s in NOISE},
    **{f'dubai/K{k}': ('dubai_aerial', SPSS_DUBAI,
                       ['--clusters', str(k)], 'sens') for k in CLUSTERS},
    'em/FULL': ('isbi_em', 'full_unet-s5_1k_isbi-em-256x256', None, 'em'),
    'em/SPSS+': ('isbi_em', 'spss-plus_unet-s5_1k_isbi-em-256x256', None,
                 'em'),
}
# the paper reports three trainings of each model: repeats of the main rows
ROWS.update({f'{row}#{i}': ROWS[row] for row in ('dubai/FULL', 'dubai/SPSS')
             for i in (2, 3)})


def tiles(dataset: str) -> str:
    """Patches of ``dataset`` (made once, resumable)."""
    name, size = DATA[dataset]
    out = osp.join(WORK, name)
    if not osp.isfile(osp.join(out, 'meta.json')):
        subprocess.run([sys.executable, 'tools/dataset/tile_dataset.py',
                        osp.join(SHARED_DATA, dataset), out, '--size',
                        str(size), '--splits', 'train'], cwd=REPO,
                       check=True, capture_output=True)
    return out


def run_row(row: str, iters: dict) -> dict:
    dataset, config, degrade, schedule = ROWS[row]
    work = osp.join(WORK, row.replace('/', '_'))
    cached = osp.join(work, 'row.json')
    if osp.isfile(cached):
        with open(cached) as f:
            return json.load(f)
    root = tiles(dataset)
    opts = [f'train_dataloader.dataset.data_root={root}'] + [
        f'{s}_dataloader.dataset.data_root='
        f'{osp.join(SHARED_DATA, dataset)}' for s in ('val', 'test')
    ] + schedule_options(iters[schedule])
    if degrade:
        props = osp.join(work, 'proportions.json')
        subprocess.run([sys.executable, 'tools/dataset/degrade_proportions.py',
                        osp.join(root, 'weak', 'proportions.json'), props,
                        *degrade], cwd=REPO, check=True, capture_output=True)
        opts.append(f'train_dataloader.dataset.proportions_file={props}')
    m, iter_s, rss = train_then_test(f'configs/spss/{config}.py', work, opts)
    rec = dict(row=row, mIoU=m['mIoU'], aAcc=m['aAcc'], mAcc=m['mAcc'],
               iter_s=iter_s, peak_rss_mib=rss, per_class={})
    for key, value in m.items():
        if key.startswith(('IoU.', 'Precision.', 'Recall.')):
            score, name = key.split('.', 1)
            rec['per_class'].setdefault(name, {})[score] = value
    for name, s in rec['per_class'].items():
        # F1 of a class never predicted (precision nan) is 0, not nan
        p = 0.0 if s['Precision'] != s['Precision'] else s['Precision']
        s['F1'] = round(2 * p * s['Recall'] / (p + s['Recall']), 2) \
            if p + s['Recall'] > 0 else 0.0
    with open(cached, 'w') as f:
        json.dump(rec, f)
    return rec


def _batch(cfg: Config, n: int, size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    c = cfg.model.decode_head.num_classes
    samples = []
    for _ in range(n):
        full = torch.randint(0, c, (1, size, size), generator=g)
        props = torch.bincount(full.flatten(), minlength=c) / full.numel()
        s = SegDataSample(gt_sem_seg=PixelData(data=full),
                          gt_proportions=props.float())
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return dict(inputs=list(torch.rand(n, 3, size, size, generator=g) * 255),
                data_samples=samples)


def step_times(steps: int, batch: int, size: int) -> dict:
    """Median training-step seconds of SPSS (L_sp) and pixel CE on the same
    network, interleaved in one process."""
    setup_mmseg_wsss()
    models = {}
    for name, config in (('pixel CE', FULL_DUBAI), ('SPSS', SPSS_DUBAI)):
        cfg = Config.fromfile(osp.join(REPO, 'configs/spss', config + '.py'))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        models[name] = (model, torch.optim.Adam(model.parameters(), 1e-3))
    return interleaved_step_times(models, _batch(cfg, batch, size), steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=1000,
                        help='iterations of SPSS vs full on dubai_aerial')
    parser.add_argument('--sens-iters', type=int, default=400,
                        help='iterations of the noise / cluster tables')
    parser.add_argument('--em-iters', type=int, default=300,
                        help='iterations on isbi_em')
    parser.add_argument('--rows', nargs='*', default=list(ROWS))
    parser.add_argument('--speed-steps', type=int, default=20)
    args = parser.parse_args()
    iters = dict(main=args.iters, sens=args.sens_iters, em=args.em_iters)
    recs = {}
    for row in args.rows:
        recs[row] = run_row(row, iters)
        print(json.dumps(recs[row]), flush=True)
    out = dict(iters=iters, rows=list(recs.values()))
    for schedule, base in (('main', 'dubai/FULL'),
                           ('sens', 'dubai/sens-clean'), ('em', 'em/FULL')):
        ref = recs.get(base)
        table = []
        for row, r in recs.items():
            if ROWS[row][3] != schedule:
                continue
            named = [c for c in r['per_class'] if c != 'unlabeled']
            line = dict(row=row, iters=iters[schedule],
                        mIoU=round(r['mIoU'], 2),
                        mIoU_named=round(statistics.mean(
                            r['per_class'][c]['IoU'] for c in named), 2),
                        aAcc=round(r['aAcc'], 2), mAcc=round(r['mAcc'], 2),
                        iter_s=r['iter_s'])
            line[f'/{base}'] = round(r['mIoU'] / ref['mIoU'], 3) \
                if ref else ''
            line.update({f'F1.{c}': r['per_class'][c]['F1'] for c in named})
            table.append(line)
        if table:
            print_table(table, list(table[0]))
            print()
    summary = {}
    for row in ('dubai/FULL', 'dubai/SPSS'):
        runs = [r['mIoU'] for k, r in recs.items() if k.split('#')[0] == row]
        if runs:
            summary[row] = dict(
                runs=len(runs), mean=round(statistics.mean(runs), 2),
                std=round(statistics.stdev(runs), 2) if len(runs) > 1 else 0)
    if len(summary) == 2:
        summary['weak/full'] = round(summary['dubai/SPSS']['mean'] /
                                     summary['dubai/FULL']['mean'], 3)
        print('mIoU over repeated runs:', json.dumps(summary))
    out['main_summary'] = summary
    if args.speed_steps:
        st = step_times(args.speed_steps, 16, 224)
        out['step_s'] = {k: round(v, 4) for k, v in st.items()}
        out['spss_over_ce'] = round(st['SPSS'] / st['pixel CE'], 3)
        print_table([dict(measure=f'train step {k} (median s, batch 16, '
                          '224px)', value=round(v, 4))
                     for k, v in st.items()] +
                    [dict(measure='SPSS / pixel CE',
                          value=out['spss_over_ce'])], ['measure', 'value'])
    print('saved', save_json('spss.json', out))


if __name__ == '__main__':
    main()
