"""G1 (pCE on width-20 scribbles) vs the full-mask upper baseline, same
network and schedule, on neu_seg and magnetic_tile; with training throughput
and peak RSS.

    python bench/bench_g1_vs_full.py [--iters 2000] [--datasets ...]

Prints a table and writes bench/results/g1_vs_full.json.
"""
import argparse
import os.path as osp

from common import (RESULTS, dataset_options, print_table, save_json,
                    train_and_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=2000)
    parser.add_argument('--datasets', nargs='+',
                        default=['neu_seg', 'magnetic_tile'])
    args = parser.parse_args()
    rows = []
    for ds in args.datasets:
        opts = dataset_options(ds, args.iters)
        res = {}
        for sup in ('pce', 'full'):
            cfg = (f'configs/centroid/{sup}_unet-s4_2k_'
                   f'{ds.replace("_", "-")}-128x128.py')
            work = osp.join(RESULTS, 'work_dirs', f'{sup}_{ds}')
            res[sup] = train_and_test(cfg, work, opts)
            bs = 8
            res[sup]['img_s'] = round(bs / res[sup]['iter_s'], 1)
            rows.append(dict(dataset=ds, supervision=(
                'G1 pCE scribbles w20' if sup == 'pce' else 'full masks'),
                **res[sup]))
        rows[-2]['weak/full mIoU'] = round(
            res['pce']['mIoU'] / res['full']['mIoU'], 3)
    print_table(rows, ['dataset', 'supervision', 'mIoU', 'mPrec', 'mRec',
                       'F1', 'weak/full mIoU', 'img_s', 'peak_rss_mib'])
    print('saved', save_json('g1_vs_full.json',
                             dict(iters=args.iters, rows=rows)))


if __name__ == '__main__':
    main()
