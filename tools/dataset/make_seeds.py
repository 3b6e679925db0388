"""Write DSRG seed cues (§3.1, §4.1) for a dataset split with a trained
CAMClassifier and score them against the full masks.

    python tools/dataset/make_seeds.py CONFIG CHECKPOINT OUT_DIR
        [--split train] [--nproc 2] [--cfg-options k=v ...]

Runs the model of CONFIG (weights from CHECKPOINT, on the CPU) over
``img_dir/<split>`` of the config's test dataset root, through the config's
test pipeline with the image tags of its ``tags_file`` (when that file
exists; otherwise the classifier's own predictions choose the classes).
The seed settings are the model's ``test_cfg`` (``fg_fraction``,
``bg_threshold``, ``cam``; change them with ``--cfg-options
model.test_cfg.cam=gradcam``). Writes

* ``OUT_DIR/<split>/<id>.png``: class ids, 255 unlabelled, atomically;
  existing files are kept, so an interrupted run resumes;
* ``OUT_DIR/<split>_overlays/<id>.png``: image | CAMs of the image's
  classes | seeds;
* ``OUT_DIR/<split>_report.json``: labelled fraction and, when the split
  has full masks (``ann_dir/<split>``), seed precision / recall / IoU in %
  (``seed_quality``, pixel-wise over the split; DSRG reports
  62.6 / 32.1 / 30.0 on VOC, Fig. 4).

Train on the seeds with ``data_prefix.pseudo_path=OUT_DIR/<split>`` and
``LoadWeakAnnotations(annotations=['pseudo', 'tags'])``. A bad sample stops
the run with an error naming the file and the sample.
"""
import argparse
import json
import os.path as osp
import sys
from functools import partial
from multiprocessing import Pool
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine import track_iter_progress
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.apis import init_model
from mmseg.registry import DATASETS

from mmseg_wsss.algorithms import seed_quality
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.datasets.transforms import (LoadCheckedImageFromFile,
                                            LoadWeakAnnotations)
from mmseg_wsss.utils import (atomic_write_image, atomic_write_json,
                              register_all_modules, setup_env)
from mmseg_wsss.visualization import overlay_cams, overlay_labels

_LOADERS = ('LoadAnnotations', 'LoadWeakAnnotations', 'PackSegInputs',
            'PackWeakSegInputs')
_STATE: dict = {}  # per process: dataset, model


def load_config(config: str, options: Optional[dict]) -> Config:
    register_all_modules(init_default_scope=False)
    setup_env()
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


def dataset_cfg(cfg: Config, split: str) -> dict:
    """The test dataset of ``cfg`` on ``img_dir/<split>`` (+ ``ann_dir``),
    its pipeline loading the tags (when the tags file exists) instead of
    any annotation map."""
    ds = cfg.test_dataloader.dataset.to_dict()
    root = ds['data_root']
    ds['data_prefix'] = dict(img_path=f'img_dir/{split}')
    if osp.isdir(osp.join(root, 'ann_dir', split)):
        ds['data_prefix']['seg_map_path'] = f'ann_dir/{split}'
    tags = ds.get('tags_file') or cfg.train_dataloader.dataset.get(
        'tags_file', 'weak/tags.json')
    ds['tags_file'] = tags if osp.isfile(osp.join(root, tags)) else ''
    steps = [s for s in ds['pipeline'] if s['type'] not in _LOADERS]
    load = [dict(type='LoadWeakAnnotations', annotations=['tags'])
            ] if ds['tags_file'] else []
    ds['pipeline'] = steps[:1] + load + steps[1:] + [
        dict(type='PackWeakSegInputs', target=None)
    ]
    return ds


def _init(config: str, options: Optional[dict], checkpoint: str, split: str,
          threads: int) -> None:
    torch.set_num_threads(threads)
    cfg = load_config(config, options)
    _STATE['dataset'] = DATASETS.build(dataset_cfg(cfg, split))
    _STATE['model'] = init_model(cfg, checkpoint, device='cpu')


def _one(index: int, out_dir: str,
         split: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Make (or reuse) the seeds of one sample; return them and its full
    mask (flattened; ``None`` without one)."""
    dataset = _STATE['dataset']
    info = dataset.get_data_info(index)
    stem = osp.splitext(
        osp.relpath(info['img_path'], dataset.data_prefix['img_path']))[0]
    out = osp.join(out_dir, split, f'{stem}.png')
    loaded = LoadCheckedImageFromFile()(dict(info))
    if 'seg_map_path' in info:
        loaded = LoadWeakAnnotations(['full'])(loaded)
    if osp.isfile(out):
        seeds = cv2.imread(out, cv2.IMREAD_UNCHANGED)
        if seeds is None or seeds.shape != loaded['img'].shape[:2]:
            raise WeakAnnotationError(
                out, info['sample_key'], 'unreadable seed map or size '
                'different from the image: delete it to remake it')
    else:
        with torch.no_grad():
            result = _STATE['model'].test_step(
                pseudo_collate([dataset[index]]))[0]
        seeds = result.pred_sem_seg.data[0].numpy().astype(np.uint8)
        cams = result.seg_logits.data.numpy()
        shown = (np.flatnonzero(result.gt_tags.numpy())
                 if 'gt_tags' in result else np.unique(seeds[seeds != 255]))
        cams = np.where(np.isin(np.arange(len(cams)), shown)[:, None, None],
                        cams, 0)
        rgb = loaded['img'][..., ::-1]
        palette = dataset.metainfo['palette']
        panels = [rgb, overlay_cams(rgb, cams, palette),
                  overlay_labels(rgb, seeds, palette)]
        atomic_write_image(
            osp.join(out_dir, f'{split}_overlays', f'{stem}.png'),
            np.concatenate(panels, 1)[..., ::-1])
        atomic_write_image(out, seeds)
    full = loaded.get('gt_seg_map')
    return seeds.ravel(), None if full is None else full.ravel()


def run(args: argparse.Namespace, cfg: Config) -> list:
    """``_one`` over every sample of the split, in ``args.nproc``
    processes; each builds the dataset and the model once."""
    samples = len(DATASETS.build(dataset_cfg(cfg, args.split)))
    if not samples:
        raise WeakAnnotationError(
            osp.join(cfg.test_dataloader.dataset.data_root, 'img_dir',
                     args.split), '*', 'no images')
    init = (args.config, args.cfg_options, args.checkpoint, args.split)
    work = partial(_one, out_dir=args.out_dir, split=args.split)
    if args.nproc > 1:  # the pool is terminated on error (no stray workers)
        with Pool(args.nproc, _init, (*init, 1)) as pool:
            return list(track_iter_progress(
                (pool.imap(work, range(samples)), samples)))
    _init(*init, torch.get_num_threads())
    return list(track_iter_progress((map(work, range(samples)), samples)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--split', default='train')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        sys.exit(f'make_seeds: checkpoint {args.checkpoint} not found')
    cfg = load_config(args.config, args.cfg_options)
    try:
        results = run(args, cfg)
    except WeakAnnotationError as e:
        sys.exit(f'\nmake_seeds: {e}')
    seeds = np.concatenate([r[0] for r in results])
    report = dict(samples=len(results), split=args.split,
                  checkpoint=args.checkpoint,
                  test_cfg=dict(cfg.model.get('test_cfg') or {}),
                  labelled_fraction=round(float((seeds != 255).mean()), 4))
    if all(r[1] is not None for r in results):
        quality = seed_quality(seeds, np.concatenate([r[1] for r in results]))
        report.update({k: round(v * 100, 2) for k, v in quality.items()})
    atomic_write_json(osp.join(args.out_dir, f'{args.split}_report.json'),
                      report, indent=2)
    print(json.dumps(report))


if __name__ == '__main__':
    main()
