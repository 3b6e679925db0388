"""Box pseudo labels (panoptic paper 003_92e9ad3e958c7c40, §3.2) on the
coco128 training split against its full masks: GrabCut alone, the segment
proposal (the MCG substitute) alone, their intersection (the method), and
the whole box as the baseline; mIoU, precision, recall and the share of
ignored pixels (``tools/dataset/make_box_labels.py``'s report), and the
seconds per image of the labelling.

    python bench/bench_box_labels.py [--nproc 1] [--name box_labels]

Writes bench/results/<name>.json; the labels go to
bench/results/work_dirs/<name>/ (the method's in ``boxes/semantic/train``
and ``boxes/instances/train``, overlays beside them).
"""
import argparse
import json
import os.path as osp
import shutil
import time

from common import (RESULTS, SHARED_DATA, print_table, run_tool, save_json)

CONFIG = 'configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
ROWS = {'grabcut': 'GrabCut', 'proposals': 'proposal (MCG substitute)',
        'grabcut+proposals': 'GrabCut ∩ proposal', 'box': 'whole box'}


def label(out: str, estimators, nproc: int) -> tuple:
    """Run the tool afresh; its report and wall seconds."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run_tool(['tools/dataset/make_box_labels.py', CONFIG, out,
              '--estimators', *estimators, '--nproc', str(nproc),
              '--cfg-options', 'test_dataloader.dataset.data_root='
              + osp.join(SHARED_DATA, 'coco128')])
    seconds = time.perf_counter() - start
    with open(osp.join(out, 'semantic', 'train_report.json')) as f:
        return json.load(f), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--name', default='box_labels')
    args = parser.parse_args()
    work = osp.join(RESULTS, 'work_dirs', args.name)
    report, seconds = label(osp.join(work, 'boxes'),
                            ['grabcut', 'proposals'], args.nproc)
    box, box_s = label(osp.join(work, 'whole_box'), ['box'], args.nproc)
    maps = {**report['maps'], **box['maps']}
    n = report['samples']
    rows = [dict(labels=ROWS[k], mIoU=m['mIoU'], precision=m['precision'],
                 recall=m['recall'], ignored=round(100 * m['ignored'], 2))
            for k, m in maps.items()]
    print_table(rows, ['labels', 'mIoU', 'precision', 'recall', 'ignored'])
    timing = dict(images=n, nproc=args.nproc,
                  s_per_image_all_three=round(seconds / n, 3),
                  s_per_image_box=round(box_s / n, 3))
    print(timing)
    save_json(f'{args.name}.json', dict(rows=rows, timing=timing,
                                        reports=dict(method=report, box=box)))


if __name__ == '__main__':
    main()
