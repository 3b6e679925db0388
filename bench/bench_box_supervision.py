"""The semantic subnetwork of the panoptic paper (003_92e9ad3e958c7c40,
§3.2, §3.5) on coco128 from box pseudo labels vs full masks (and with a
share of full masks: semi-supervision), same network and schedule, tested
on the val split's full masks; two seeds per row.

    python bench/bench_box_supervision.py [--iters 500]
        [--base-channels 16] [--rows boxes full semi10] [--seeds 0 1]
        [--labels DIR]

``--labels``: the box pseudo labels (``make_box_labels.py``'s
``semantic/train``; default: those of ``bench/bench_box_labels.py``).
Resumable (trainings with a ``last_checkpoint`` and tests already run are
kept). Writes bench/results/box_supervision.json.
"""
import argparse
import os.path as osp
import statistics

from bench_dsrg import cli, iter_s, network, schedule, tested
from common import RESULTS, mean_spread, print_table, save_json

CONFIG = 'configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
ROWS = {'boxes': [], 'full': ['train_dataloader.dataset.full_subset.'
                              'fraction=1.0', 'custom_hooks=[]'],
        'semi10': ['train_dataloader.dataset.full_subset.fraction=0.1'],
        'semi30': ['train_dataloader.dataset.full_subset.fraction=0.3']}


def run_row(work: str, opts: list) -> dict:
    _, m = tested(CONFIG, work, opts)
    return dict(mIoU=round(m['mIoU'], 2), mPrec=round(m['mPrecision'], 2),
                mRec=round(m['mRecall'], 2), iter_s=iter_s(work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=500)
    parser.add_argument('--base-channels', type=int, default=16)
    parser.add_argument('--rows', nargs='+', default=['boxes', 'full'],
                        choices=list(ROWS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--labels', default=osp.join(
        RESULTS, 'work_dirs', 'box_labels', 'boxes', 'semantic', 'train'))
    args = parser.parse_args()
    b = args.base_channels
    out = dict(iters=args.iters, base_channels=b, labels=args.labels,
               rows={})
    root = osp.join(RESULTS, 'work_dirs', 'box_supervision',
                    f'b{b}_i{args.iters}')
    for seed in args.seeds:
        for row in args.rows:
            opts = schedule('coco128', args.iters) + cli(network(b, True)) + [
                f'randomness.seed={seed}',
                'train_dataloader.dataset.data_prefix.pseudo_path='
                + args.labels] + ROWS[row]
            out['rows'].setdefault(row, {})[str(seed)] = run_row(
                osp.join(root, f'{row}_s{seed}'), opts)
            save_json('box_supervision.json', out)
    full = [r['mIoU'] for r in out['rows'].get('full', {}).values()]
    table = []
    for row, by_seed in out['rows'].items():
        miou = [r['mIoU'] for r in by_seed.values()]
        mean = statistics.mean(miou)
        table.append(dict(
            row=row, mIoU=mean_spread(miou), seeds=len(miou),
            weak_full=(f'{mean / statistics.mean(full):.3f}'
                       if full else '-')))
    print_table(table, ['row', 'mIoU', 'weak_full', 'seeds'])
    out['table'] = table
    save_json('box_supervision.json', out)


if __name__ == '__main__':
    main()
