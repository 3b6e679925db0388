"""Write DSRG seed cues (§3.1, §4.1) for a dataset split with a trained
CAMClassifier and score them against the full masks.

    python tools/dataset/make_seeds.py CONFIG CHECKPOINT OUT_DIR
        [--split train] [--nproc 2] [--cfg-options k=v ...]

Runs the model of CONFIG (weights from CHECKPOINT, on the CPU; ``--nproc``
processes, each labelling its share with
:func:`mmseg_wsss.apis.label_dataset`) over ``img_dir/<split>`` of the
config's test dataset root, through the config's test pipeline with the
image tags of its ``tags_file`` (when that file exists; otherwise the
classifier's own predictions choose the classes).
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
from typing import Optional, Sequence

import numpy as np
from mmengine.config import Config, DictAction
from mmseg.apis import init_model
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms import LabelQuality
from mmseg_wsss.apis import (LabelWriter, label_dataset, load_config,
                             run_shards)
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.utils import atomic_write_json
from mmseg_wsss.visualization import overlay_cams, overlay_labels

_LOADERS = ('LoadAnnotations', 'LoadWeakAnnotations', 'PackSegInputs',
            'PackWeakSegInputs')


def dataset_cfg(cfg: Config, split: str) -> dict:
    """The test dataset of ``cfg`` on ``img_dir/<split>`` (+ ``ann_dir``),
    its pipeline loading, instead of the config's annotation maps, the tags
    (when the tags file exists) and the full masks (when the split has
    them: they measure the seeds, at the original size)."""
    ds = cfg.test_dataloader.dataset.to_dict()
    root = ds['data_root']
    ds['data_prefix'] = dict(img_path=f'img_dir/{split}')
    annotations = []
    if osp.isdir(osp.join(root, 'ann_dir', split)):
        ds['data_prefix']['seg_map_path'] = f'ann_dir/{split}'
        annotations.append('full')
    tags = ds.get('tags_file') or cfg.train_dataloader.dataset.get(
        'tags_file', 'weak/tags.json')
    ds['tags_file'] = tags if osp.isfile(osp.join(root, tags)) else ''
    if ds['tags_file']:
        annotations.append('tags')
    steps = [s for s in ds['pipeline'] if s['type'] not in _LOADERS]
    load = [dict(type='LoadWeakAnnotations', annotations=annotations)
            ] if annotations else []
    ds['pipeline'] = steps + load + [
        dict(type='PackWeakSegInputs', target=None)
    ]
    return ds


def cams_and_seeds(img_rgb: np.ndarray, sample: SegDataSample,
                   seeds: np.ndarray, palette: Sequence) -> np.ndarray:
    """The overlay image | CAMs of the image's classes (its tags, else its
    seeded classes) | seeds, RGB."""
    cams = sample.seg_logits.data.cpu().numpy()
    shown = (np.flatnonzero(sample.gt_tags.cpu().numpy())
             if 'gt_tags' in sample else np.unique(seeds[seeds != 255]))
    cams = np.where(np.isin(np.arange(len(cams)), shown)[:, None, None],
                    cams, 0)
    return np.concatenate([
        img_rgb,
        overlay_cams(img_rgb, cams, palette),
        overlay_labels(img_rgb, seeds, palette)
    ], 1)


def label_shard(indices: Sequence[int], progress: bool, config: str,
                options: Optional[dict], checkpoint: str, split: str,
                out_dir: str) -> LabelQuality:
    """Make (or keep) the seeds of the samples ``indices`` in this process
    (dataset and model built here); return their quality."""
    cfg = load_config(config, options)
    dataset = DATASETS.build(dataset_cfg(cfg, split))
    model = init_model(cfg, checkpoint, device='cpu')
    writer = LabelWriter(
        osp.join(out_dir, split),
        overlay_dir=osp.join(out_dir, f'{split}_overlays'),
        palette=dataset.metainfo['palette'],
        overlay=cams_and_seeds,
        resume=True)
    label_dataset(model, dataset, writer, indices=indices, progress=progress)
    return writer.quality


def run(args: argparse.Namespace, cfg: Config) -> LabelQuality:
    """:func:`label_shard` over every sample of the split, in
    ``args.nproc`` processes; the summed quality."""
    samples = len(DATASETS.build(dataset_cfg(cfg, args.split)))
    if not samples:
        raise WeakAnnotationError(
            osp.join(cfg.test_dataloader.dataset.data_root, 'img_dir',
                     args.split), '*', 'no images')
    job = partial(label_shard, config=args.config, options=args.cfg_options,
                  checkpoint=args.checkpoint, split=args.split,
                  out_dir=args.out_dir)
    return sum(run_shards(job, samples, args.nproc), LabelQuality())


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
        quality = run(args, cfg)
    except WeakAnnotationError as e:
        sys.exit(f'\nmake_seeds: {e}')
    report = dict(samples=quality.images, split=args.split,
                  checkpoint=args.checkpoint,
                  test_cfg=dict(cfg.model.get('test_cfg') or {}),
                  labelled_fraction=round(quality.labelled_fraction, 4))
    if quality.fully_measured:
        report.update(
            {k: round(v * 100, 2) for k, v in quality.scores().items()})
    atomic_write_json(osp.join(args.out_dir, f'{args.split}_report.json'),
                      report, indent=2)
    print(json.dumps(report))


if __name__ == '__main__':
    main()
