"""Validate the datasets of a config: read every image and annotation.

    python tools/dataset/check_dataset.py CONFIG [--splits train val]
        [--out report.json] [--nproc 2] [--cfg-options k=v ...]

Stops at the first bad sample with an error naming the file, the sample and
the problem, and then removes any report left at ``--out`` by an earlier
run (a stale report must not read as valid); on success writes a JSON
summary (atomically) to ``--out`` (default
``<work_dirs>/<config>/dataset_check.json``), listing the images that carry
an EXIF orientation tag (they load as stored). ``tools/train.py
--check-data`` runs the same check before training.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.datasets.check import check_config_datasets
from mmseg_wsss.utils import (atomic_write_json, register_all_modules,
                              setup_env)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--out')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    setup_env()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out = args.out or osp.join(
        cfg.get('work_dir') or osp.join(
            'work_dirs', osp.splitext(osp.basename(args.config))[0]),
        'dataset_check.json')
    try:
        report = check_config_datasets(cfg, args.splits, args.nproc)
    except WeakAnnotationError as e:
        if osp.isfile(out):
            os.remove(out)
        sys.exit(f'\ncheck_dataset: {e}')
    atomic_write_json(out, report, indent=2)
    print(json.dumps(report, indent=2))
    print(f'report written to {out}')


if __name__ == '__main__':
    main()
