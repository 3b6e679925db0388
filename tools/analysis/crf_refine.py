"""Dense-CRF post-processing of a trained model's predictions (Centroid Loss
paper §V-F), in CPU processes, with metrics before and after.

    python tools/analysis/crf_refine.py CONFIG CHECKPOINT OUT_DIR
        [--nproc 2] [--crf sxy_bilateral=80 srgb=13 ...]
        [--cfg-options k=v ...]

Runs the model on ``test_dataloader``'s dataset (``--nproc`` processes,
each labelling its share with :func:`mmseg_wsss.apis.label_dataset`),
refines every softmax with :func:`mmseg_wsss.algorithms.crf.dense_crf` (its
documented defaults unless ``--crf`` overrides them), writes
``OUT_DIR/labels/<id>.png`` and ``OUT_DIR/overlays/<id>.png`` (image |
refined prediction) atomically, and ``OUT_DIR/crf_report.json`` with mIoU,
mPrecision, mRecall and F1 of the raw and of the refined predictions when
the dataset has full masks. The test-time equivalent is ``--cfg-options
model.test_cfg.crf=True``.
"""
import argparse
import json
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.structures import PixelData
from mmseg.apis import init_model
from mmseg.registry import DATASETS, METRICS
from mmseg.structures import SegDataSample

from mmseg_wsss.apis import (LabelWriter, label_dataset, load_config,
                             run_shards)
from mmseg_wsss.utils import atomic_write_json

#: the two scored predictions
STAGES = ('raw', 'crf')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--crf', nargs='+', action=DictAction, default={})
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def _metric(meta: dict):
    metric = METRICS.build(dict(type='WSSSIoUMetric'))
    metric.dataset_meta = meta
    return metric


class ScoringWriter(LabelWriter):
    """A :class:`LabelWriter` that also scores the raw and the refined
    prediction of every sample with full masks (``WSSSIoUMetric``)."""

    def __init__(self, out_dir: str, meta: dict) -> None:
        super().__init__(osp.join(out_dir, 'labels'),
                         overlay_dir=osp.join(out_dir, 'overlays'),
                         palette=meta['palette'])
        self.metrics = {stage: _metric(meta) for stage in STAGES}

    def write(self, name: str, sample: SegDataSample,
              labels: np.ndarray) -> None:
        super().write(name, sample, labels)
        if 'gt_sem_seg' in sample:
            self.metrics['raw'].process({}, [sample.to_dict()])
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(labels[None].astype(np.int64)))
            self.metrics['crf'].process({}, [sample.to_dict()])

    def totals(self) -> Dict[str, List[np.ndarray]]:
        """Per stage, the metric's four area totals (none without masks)."""
        return {stage: [sum(areas).numpy() for areas in zip(*m.results)]
                for stage, m in self.metrics.items()}


def refine_shard(indices: Sequence[int], progress: bool, config: str,
                 options: Optional[dict], checkpoint: str, out_dir: str,
                 crf: dict) -> Dict[str, List[np.ndarray]]:
    """Label the samples ``indices`` in this process (model and dataset
    built here); return the :meth:`ScoringWriter.totals`."""
    cfg = load_config(config, options)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    writer = ScoringWriter(out_dir, dataset.metainfo)
    label_dataset(init_model(cfg, checkpoint, device='cpu'), dataset, writer,
                  crf=crf, indices=indices, progress=progress)
    return writer.totals()


def scores(meta: dict, totals: Sequence[Sequence[np.ndarray]]) -> dict:
    """``WSSSIoUMetric`` of the summed area ``totals`` of the shards."""
    summed = [torch.from_numpy(sum(areas)) for areas in zip(*totals)]
    return {k: float(v)
            for k, v in _metric(meta).compute_metrics([summed]).items()}


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    job = partial(refine_shard, config=args.config, options=args.cfg_options,
                  checkpoint=args.checkpoint, out_dir=args.out_dir,
                  crf=args.crf)
    shards = [s for s in run_shards(job, len(dataset), args.nproc)
              if s['raw']]  # those with full masks
    report = dict(samples=len(dataset), crf=args.crf)
    if shards:
        report.update({
            stage: scores(dataset.metainfo, [s[stage] for s in shards])
            for stage in STAGES
        })
    atomic_write_json(osp.join(args.out_dir, 'crf_report.json'), report,
                      indent=2)
    print('\n' + json.dumps(report))


if __name__ == '__main__':
    main()
