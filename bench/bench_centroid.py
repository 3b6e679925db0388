"""The Centroid Loss method on neu_seg and magnetic_tile, in the shape of
the paper's Tables 2/3/5: G1 / G2 / G3 (feature space N) with width-20
scribbles and SUP30/50/80 pseudo-masks, and E-FULL; each row tested with the
segmentation and the clustering output, with and without dense CRF; plus
the wmIoU of the pseudo-masks. Same network and schedule for every row;
pseudo-masks are made once per SUP setting by the offline tool.

    python bench/bench_centroid.py [--iters 1500] [--base-channels 8]
                                   [--datasets ...] [--rows ...]
                                   [--seeds 0 1] [--val-interval N]

Prints a table (mean and half-range over the seeds of a row) and writes
bench/results/centroid.json; rows already in that file for other datasets,
rows, schedules, widths or seeds are kept, so a run can be split by
``--datasets`` / ``--rows`` / ``--seeds``, and two such runs may share the
machine (give each ``OMP_NUM_THREADS=1``): the file is updated under a lock.
Without ``--seeds`` the seed is not fixed (the older single-run rows).
"""
import argparse
import fcntl
import json
import os.path as osp
import statistics
import subprocess
import sys

from common import (REPO, RESULTS, SHARED_DATA, dataset_options,
                    last_run_json, mean_spread, print_table, run_tool,
                    save_json, train_iter_times, train_scalars)

# the recipes on the demo set; --cfg-options move them to each dataset
E_FULL = 'configs/centroid/full_attention-unet-s5_1k_demo-corrosion-128x128.py'
OFFLINE = ('configs/centroid/'
           'centroid-offline_attention-unet-s5_1k_demo-corrosion-128x128.py')
# row name -> (cfg-options, superpixels or None for E-FULL)
GROUPS = {
    # loss_weak: 0 = Lcen, 1 = Lmse
    # (configs/_base_/models/attention_unet_centroid.py)
    'G1': ['model.loss_weak.0.loss_weight=0',
           'model.loss_weak.1.loss_weight=0'],  # pCE (eq. 2)
    'G2': ['model.loss_weak.1.loss_weight=0'],  # pCE + Lcen
    'G3': [],  # eq. 7
}
ROWS = {f'{g}-SUP{n}': (opts, n)
        for g, opts in GROUPS.items() for n in (30, 50, 80)}
ROWS['E-FULL'] = (None, None)
NUM_CLASSES = dict(neu_seg=4, magnetic_tile=6)


def make_pseudo(root: str, n_segments: int) -> tuple:
    """Offline SUP pseudo-masks (tools/dataset/make_pseudo_masks.py) for
    the train split: (their directory, their wmIoU)."""
    out = osp.join(RESULTS, 'pseudo', osp.basename(root), f'sup{n_segments}')
    subprocess.run([sys.executable, 'tools/dataset/make_pseudo_masks.py',
                    root, out, '--n-segments', str(n_segments)], cwd=REPO,
                   check=True, capture_output=True)
    with open(osp.join(out, 'train_report.json')) as f:
        return osp.join(out, 'train'), json.load(f)['wmIoU']


def saved_rows(path: str) -> list:
    """Rows already in the results file (re-read before every save, so
    runs split over ``--datasets`` / ``--rows`` do not drop each other's)."""
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return json.load(f)['rows']


def row_key(rec: dict) -> tuple:
    return tuple(rec.get(k) for k in ('dataset', 'row', 'iters',
                                      'base_channels', 'seed'))


def save_row(path: str, rec: dict) -> None:
    """Replace ``rec``'s row in the results file, under an exclusive lock
    so that concurrent runs keep each other's rows."""
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = [r for r in saved_rows(path) if row_key(r) != row_key(rec)]
        save_json(osp.basename(path), dict(rows=table + [rec]))


def run_row(args, ds: str, root: str, row: str, seed, base: list,
            path: str) -> None:
    """Train one row (one seed) unless its checkpoint exists, test its four
    outputs and save it."""
    b = args.base_channels
    extra, sup = ROWS[row]
    wmiou = 100.0
    if sup is None:
        cfg, opts = E_FULL, []
    else:
        cfg = OFFLINE
        pseudo_dir, wmiou = make_pseudo(root, sup)
        opts = extra + ['train_dataloader.dataset.data_prefix.'
                        f'pseudo_path={pseudo_dir}']
    if seed is not None:
        opts = opts + [f'randomness.seed={seed}']
    if args.val_interval:
        opts = opts + [f'train_cfg.val_interval={args.val_interval}']
    work = osp.join(RESULTS, 'work_dirs',
                    f'centroid_b{b}_i{args.iters}_{ds}_{row}'
                    + ('' if seed is None else f'_s{seed}'))
    rss = None  # a row trained by an earlier, interrupted run
    if not osp.isfile(osp.join(work, 'last_checkpoint')):
        rss = run_tool(['tools/train.py', cfg, '--work-dir', work,
                        '--cfg-options', *base, *opts])
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    rec = dict(dataset=ds, row=row, iters=args.iters,
               base_channels=b,
               wmIoU=wmiou,
               iter_s=round(statistics.median(
                   train_iter_times(work)), 4),
               peak_rss_mib=rss)
    if seed is not None:
        rec['seed'] = seed
    if args.val_interval:
        rec['val_mIoU'] = {r['step']: r['mIoU'] for r in train_scalars(work)
                           if 'mIoU' in r}
    for output in ('seg', 'cluster'):
        for crf in (False, True):
            test = [f'model.test_cfg.output={output}']
            if crf:
                test.append('model.test_cfg.crf=True')
            run_tool(['tools/test.py', cfg, ckpt, '--work-dir', work,
                      '--cfg-options', *base, *opts, *test])
            m = last_run_json(work)
            key = output + ('+CRF' if crf else '')
            rec[key] = dict(mIoU=m['mIoU'], mPrec=m['mPrecision'],
                            mRec=m['mRecall'], F1=m['F1'])
    save_row(path, rec)
    print(json.dumps(rec), flush=True)


def print_summary(table: list) -> None:
    """One line per dataset / schedule / width / row / output: mIoU etc. as
    mean ± half-range over the row's seeds (unseeded rows apart), and
    weak/full against E-FULL run with the same seed."""
    groups = {}
    for rec in table:
        key = (rec['dataset'], rec['iters'], rec['base_channels'], rec['row'],
               'seed' in rec)
        groups.setdefault(key, []).append(rec)
    rows = []
    for (ds, iters, b, row, seeded), recs in groups.items():
        for out in ('seg', 'seg+CRF', 'cluster', 'cluster+CRF'):
            line = dict(dataset=ds, iters=iters, row=row, output=out,
                        seeds=len(recs) if seeded else 'unset',
                        wmIoU=mean_spread([r['wmIoU'] for r in recs]))
            for m in ('mIoU', 'mPrec', 'mRec', 'F1'):
                line[m] = mean_spread([r[out][m] for r in recs])
            ratios = []
            for r in recs:
                full = next((f for f in table if f['row'] == 'E-FULL' and all(
                    f.get(k) == r.get(k) for k in (
                        'dataset', 'iters', 'base_channels', 'seed'))), None)
                if full:
                    ratios.append(r[out]['mIoU'] / full['seg']['mIoU'])
            line['weak_full'] = mean_spread(ratios, 3) if ratios else ''
            rows.append(line)
    print_table(rows, ['dataset', 'iters', 'row', 'output', 'seeds', 'wmIoU',
                       'mIoU', 'mPrec', 'mRec', 'F1', 'weak_full'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=1500)
    parser.add_argument('--base-channels', type=int, default=8,
                        help='Attention U-Net width (the recipe uses 16)')
    parser.add_argument('--datasets', nargs='+',
                        default=['neu_seg', 'magnetic_tile'])
    parser.add_argument('--rows', nargs='+', default=list(ROWS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[None],
                        help='randomness.seed of each run (default: unset)')
    parser.add_argument('--val-interval', type=int, default=None,
                        help='validate every N iterations (default: once, '
                        'at the end); the curve is saved with the row')
    args = parser.parse_args()
    path = osp.join(RESULTS, 'centroid.json')
    b = args.base_channels
    net = [f'model.backbone.base_channels={b}',
           f'model.decode_head.in_channels={b}',
           f'model.decode_head.channels={b}',
           f'model.steps.0.head.in_channels={16 * b}']
    for ds in args.datasets:
        root = osp.join(SHARED_DATA, ds)
        base = dataset_options(ds, args.iters) + net + [
            f'model.decode_head.num_classes={NUM_CLASSES[ds]}']
        for row in args.rows:
            for seed in args.seeds:
                run_row(args, ds, root, row, seed, base, path)
    print_summary(saved_rows(path))
    print('saved', path)


if __name__ == '__main__':
    main()
