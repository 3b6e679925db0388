"""The Centroid Loss method on neu_seg and magnetic_tile, in the shape of
the paper's Tables 2/3/5: G1 / G2 / G3 (feature space N) with width-20
scribbles and SUP30/50/80 pseudo-masks, and E-FULL; each row tested with the
segmentation and the clustering output, with and without dense CRF; plus
the wmIoU of the pseudo-masks. Same network and schedule for every row;
pseudo-masks are made once per SUP setting by the offline tool.

    python bench/bench_centroid.py [--iters 500] [--datasets ...] [--rows ...]

Prints a table and writes bench/results/centroid.json.
"""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys

from common import (REPO, RESULTS, SHARED_DATA, dataset_options,
                    last_run_json, print_table, run_tool, save_json,
                    train_iter_times)

# row name -> (cfg-options, superpixels or None for E-FULL)
ROWS = {
    'G1-SUP50': (['model.lambda_cen=0', 'model.lambda_mse=0'], 50),
    'G2-SUP50': (['model.lambda_mse=0'], 50),
    'G3-SUP30': ([], 30),
    'G3-SUP50': ([], 50),
    'G3-SUP80': ([], 80),
    'E-FULL': (None, None),
}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=500)
    parser.add_argument('--datasets', nargs='+',
                        default=['neu_seg', 'magnetic_tile'])
    parser.add_argument('--rows', nargs='+', default=list(ROWS))
    args = parser.parse_args()
    table = []
    for ds in args.datasets:
        root = osp.join(SHARED_DATA, ds)
        base = dataset_options(ds, args.iters) + [
            f'model.decode_head.num_classes={NUM_CLASSES[ds]}']
        for row in args.rows:
            extra, sup = ROWS[row]
            wmiou = 100.0
            if sup is None:
                cfg, opts = 'configs/wsss/full_attention_unet_corrosion.py', []
            else:
                cfg = 'configs/wsss/centroid_offline_corrosion.py'
                pseudo_dir, wmiou = make_pseudo(root, sup)
                opts = extra + ['train_dataloader.dataset.data_prefix.'
                                f'pseudo_path={pseudo_dir}']
            work = osp.join(RESULTS, 'work_dirs', f'centroid_{ds}_{row}')
            rss = None  # a row trained by an earlier, interrupted run
            if not osp.isfile(osp.join(work, 'last_checkpoint')):
                rss = run_tool(['tools/train.py', cfg, '--work-dir', work,
                                '--cfg-options', *base, *opts])
            ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
            rec = dict(dataset=ds, row=row,
                       wmIoU=wmiou,
                       iter_s=round(statistics.median(
                           train_iter_times(work)), 4),
                       peak_rss_mib=rss)
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
            table.append(rec)
            print(json.dumps(rec), flush=True)
    rows = []
    for rec in table:
        full = next((r for r in table if r['dataset'] == rec['dataset']
                     and r['row'] == 'E-FULL'), None)
        for key in ('seg', 'seg+CRF', 'cluster', 'cluster+CRF'):
            m = rec[key]
            ratio = (round(m['mIoU'] / full['seg']['mIoU'], 3)
                     if full else '')
            rows.append(dict(dataset=rec['dataset'], row=rec['row'],
                             output=key, wmIoU=rec['wmIoU'], **m,
                             weak_full=ratio))
    print_table(rows, ['dataset', 'row', 'output', 'wmIoU', 'mIoU', 'mPrec',
                       'mRec', 'F1', 'weak_full'])
    print('saved', save_json('centroid.json',
                             dict(iters=args.iters, rows=table)))


if __name__ == '__main__':
    main()
