"""Dense-CRF post-processing of a trained model's predictions (Centroid Loss
paper §V-F), batched over CPU cores, with metrics before and after.

    python tools/analysis/crf_refine.py CONFIG CHECKPOINT OUT_DIR
        [--nproc 2] [--chunk 32] [--crf sxy_bilateral=80 srgb=13 ...]
        [--cfg-options k=v ...]

Runs the model on ``test_dataloader``'s dataset, refines every softmax with
:func:`mmseg_wsss.algorithms.crf.dense_crf` (its documented defaults unless
``--crf`` overrides them), writes ``OUT_DIR/labels/<id>.png`` and
``OUT_DIR/overlays/<id>.png`` (image | refined prediction) atomically, and
``OUT_DIR/crf_report.json`` with mIoU, mPrecision, mRecall and F1 of the
raw and of the refined predictions when the dataset has full masks. The
test-time equivalent is ``--cfg-options model.test_cfg.crf=True``.
"""
import argparse
import json
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData
from mmengine.utils import ProgressBar
from mmseg.apis import init_model
from mmseg.registry import DATASETS, METRICS

from mmseg_wsss.algorithms.crf import dense_crf_batch
from mmseg_wsss.utils import (atomic_write_image, atomic_write_json,
                              register_all_modules, setup_env)
from mmseg_wsss.visualization import save_overlay


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--chunk', type=int, default=32,
                        help='images refined together (bounds memory)')
    parser.add_argument('--crf', nargs='+', action=DictAction, default={})
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def _metric(meta: dict):
    metric = METRICS.build(dict(type='WSSSIoUMetric'))
    metric.dataset_meta = meta
    return metric


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)  # init_model sets it
    setup_env()
    model = init_model(args.config, args.checkpoint, device='cpu',
                       cfg_options=args.cfg_options)
    cfg = model.cfg
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    meta = dataset.metainfo
    raw, refined = _metric(meta), _metric(meta)
    bar = ProgressBar(len(dataset))
    for start in range(0, len(dataset), args.chunk):
        samples, imgs, probs = [], [], []
        for idx in range(start, min(start + args.chunk, len(dataset))):
            with torch.no_grad():
                out = model.test_step(pseudo_collate([dataset[idx]]))[0]
            samples.append(out)
            imgs.append(mmcv.imread(out.img_path, channel_order='rgb'))
            probs.append(out.seg_logits.data.softmax(0).float().numpy())
        for sample, img, prob in zip(
                samples, imgs,
                dense_crf_batch(imgs, probs, args.nproc, **args.crf)):
            labels = prob.argmax(0).astype(np.uint8)
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            atomic_write_image(
                osp.join(args.out_dir, 'labels', f'{stem}.png'), labels)
            save_overlay(osp.join(args.out_dir, 'overlays', f'{stem}.png'),
                         img, labels, meta['palette'])
            if 'gt_sem_seg' in sample:
                raw.process({}, [sample.to_dict()])
                sample.pred_sem_seg = PixelData(
                    data=torch.from_numpy(labels[None].astype(np.int64)))
                refined.process({}, [sample.to_dict()])
            bar.update()
    report = dict(samples=len(dataset), crf=args.crf)
    if raw.results:
        for name, metric in (('raw', raw), ('crf', refined)):
            report[name] = {k: float(v) for k, v in
                            metric.compute_metrics(metric.results).items()}
    atomic_write_json(osp.join(args.out_dir, 'crf_report.json'), report,
                      indent=2)
    print('\n' + json.dumps(report))


if __name__ == '__main__':
    main()
