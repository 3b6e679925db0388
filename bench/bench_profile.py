"""Where a training iteration spends its time: data loading (per transform),
forward, loss, backward and optimiser step, for the headline recipe and one
DSRG and one SPSS config, and the data pipeline's throughput per worker
against the step's.

    python bench/bench_profile.py [--steps 10] [--samples 24] [--threads 2]

The data pipeline is timed in this process, one sample at a time, per
transform: a first pass over ``--samples`` samples (cold: every superpixel
map is computed, as every draw did before the SLICO cache) and a second pass
over the same samples (warm: what a training worker does from its second
epoch on). The step is timed on one fixed batch of the config's batch size,
``--steps`` times after 2 warm-up steps (median); then the step of the
network fed a contiguous (before) and a channels-last (after,
``WeakSegDataPreProcessor(channels_last=True)``) batch, the two models
taking turns step by step (``before / after`` is a ratio within one run);
then, the same way, the step in float32 against the step under bfloat16
autocast (``BF16OptimWrapper``; native on CPUs with AVX512-BF16 or AMX).
Writes ``bench/results/profile.json``.

The DSRG row trains on stand-in seeds (the width-5 scribbles of neu_seg,
where no CAM seeds were made): region growing costs about as much on any
sparse seeds. The SPSS row uses Aerial Dubai tiles made by
``tools/dataset/tile_dataset.py`` into ``data/dubai_aerial_p224``.
"""
import argparse
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS, MODELS

from common import (REPO, SHARED_DATA, interleaved_step_times, print_table,
                    save_json, setup_mmseg_wsss)

CONFIGS = {
    'Centroid (headline)': (
        'configs/centroid/'
        'centroid_attention-unet-s5_1k_demo-corrosion-128x128.py', {}),
    'DSRG': ('configs/dsrg/dsrg_r18-d8-aspp_1k_neu-seg-128x128.py', {
        'data_root': osp.join(SHARED_DATA, 'neu_seg'),
        'pseudo_path': 'weak/scribbles_w5/train'
    }),
    'SPSS': ('configs/spss/spss_unet-s5_1k_dubai-aerial-112x112.py', {}),
}


def _prepare_data() -> None:
    if not osp.isdir(osp.join(REPO, 'data/demo_corrosion')):
        subprocess.run([sys.executable, 'tools/dataset/make_demo_data.py',
                        'data/demo_corrosion'], cwd=REPO, check=True)
    if not osp.isdir(osp.join(REPO, 'data/dubai_aerial_p224')):
        subprocess.run([
            sys.executable, 'tools/dataset/tile_dataset.py',
            osp.join(SHARED_DATA, 'dubai_aerial'), 'data/dubai_aerial_p224',
            '--size', '224'
        ], cwd=REPO, check=True)


def _config(path: str, overrides: dict) -> Config:
    cfg = Config.fromfile(osp.join(REPO, path))
    ds = cfg.train_dataloader.dataset
    if 'data_root' in overrides:
        ds.data_root = overrides['data_root']
    if 'pseudo_path' in overrides:
        ds.data_prefix.pseudo_path = overrides['pseudo_path']
    return cfg


def pipeline_times(cfg: Config, samples: int) -> Dict[str, float]:
    """Seconds per sample of each transform: cold pass, then warm pass."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    out = {}
    for name in ('cold', 'warm'):
        per = {}
        for i in range(samples):
            results = dataset.get_data_info(i % len(dataset))
            for t in dataset.pipeline.transforms:
                start = time.perf_counter()
                results = t(results)
                key = type(t).__name__
                per[key] = per.get(key, 0.0) + time.perf_counter() - start
        out[name] = {k: v / samples for k, v in per.items()}
    return out


def step_times(cfg: Config, steps: int) -> Dict[str, float]:
    """Median seconds of forward, loss, backward and optimiser step."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate(
        [dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    optim = torch.optim.AdamW(model.parameters(), 1e-3)
    times: Dict[str, List[float]] = {}
    for it in range(steps + 2):
        t0 = time.perf_counter()
        data = model.data_preprocessor(batch, True)
        t1 = time.perf_counter()
        model.decode_head.forward(model.extract_feat(data['inputs']))
        t2 = time.perf_counter()
        losses = model.loss(data['inputs'], data['data_samples'])
        t3 = time.perf_counter()
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        t4 = time.perf_counter()
        optim.step()
        t5 = time.perf_counter()
        if it >= 2:
            for key, value in (('preprocess', t1 - t0), ('forward', t2 - t1),
                               ('loss', (t3 - t2) - (t2 - t1)),
                               ('backward', t4 - t3), ('step', t5 - t4)):
                times.setdefault(key, []).append(value)
    return {k: statistics.median(v) for k, v in times.items()}


def layout_ratio(cfg: Config, steps: int) -> Dict[str, float]:
    """Interleaved step times with a contiguous and a channels-last batch."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate(
        [dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    models = {}
    for name, flag in (('before', False), ('after', True)):
        model_cfg = cfg.model.copy()
        model_cfg.data_preprocessor = dict(model_cfg.data_preprocessor,
                                           channels_last=flag)
        torch.manual_seed(0)
        model = MODELS.build(model_cfg).train()
        models[name] = (model, torch.optim.AdamW(model.parameters(), 1e-3))
    times = interleaved_step_times(models, batch, steps)
    return dict(step_s_before=round(times['before'], 4),
                step_s_after=round(times['after'], 4),
                before_over_after=round(times['before'] / times['after'], 3))


def precision_ratio(cfg: Config, steps: int) -> Dict[str, float]:
    """Interleaved step times in float32 and under bfloat16 autocast (what
    ``BF16OptimWrapper`` does), the config's data layout in both."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate(
        [dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    models = {}
    for name, dtype in (('fp32', None), ('bf16', torch.bfloat16)):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).train()
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        models[name] = (model, opt) + ((dtype, ) if dtype else ())
    times = interleaved_step_times(models, batch, steps)
    return dict(step_s_fp32=round(times['fp32'], 4),
                step_s_bf16=round(times['bf16'], 4),
                fp32_over_bf16=round(times['fp32'] / times['bf16'], 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--samples', type=int, default=24)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    setup_mmseg_wsss()
    _prepare_data()
    rows, result = [], {}
    for name, (path, overrides) in CONFIGS.items():
        cfg = _config(path, overrides)
        data = pipeline_times(cfg, args.samples)
        step = step_times(cfg, args.steps)
        batch = cfg.train_dataloader.batch_size
        step_s = sum(step.values())
        row = dict(config=name, batch=batch,
                   **{k: round(v, 4) for k, v in step.items()},
                   step_s=round(step_s, 4),
                   steps_samples_per_s=round(batch / step_s, 1))
        for phase in ('cold', 'warm'):
            per_sample = sum(data[phase].values())
            row[f'data_{phase}_samples_per_s'] = round(1 / per_sample, 1)
        row['workers_needed_warm'] = round(
            row['steps_samples_per_s'] / row['data_warm_samples_per_s'], 2)
        row.update(layout_ratio(cfg, args.steps))
        row.update(precision_ratio(cfg, args.steps))
        rows.append(row)
        result[name] = dict(config=path, row=row, transforms={
            phase: {k: round(v * 1000, 3) for k, v in data[phase].items()}
            for phase in data})
    print_table(rows, list(rows[0]))
    for name, r in result.items():
        print(f'\n{name}: ms per sample and transform')
        for phase, per in r['transforms'].items():
            print(f'  {phase}: ' + ', '.join(f'{k} {v}' for k, v in
                                            per.items()))
    save_json('profile.json', dict(threads=args.threads, steps=args.steps,
                                   samples=args.samples, configs=result))


if __name__ == '__main__':
    main()
