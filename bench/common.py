"""Helpers shared by the benchmarks: run our tools in a subprocess, read
their metrics, training speed and peak memory, print and save tables."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset'))
from link_shared_data import SHARED_DATA, link_shared_data  # noqa: E402

RESULTS = osp.join(REPO, 'bench', 'results')
# the configs' data/<set> roots point at the shared sets where data/ lacks
# them (the benchmarks also pass SHARED_DATA/<set> as --cfg-options)
link_shared_data()


def dataset_options(dataset: str, iters: int) -> List[str]:
    """``--cfg-options`` pointing every split at ``SHARED_DATA/dataset`` and
    setting a ``iters``-iteration schedule (validation and checkpoint at
    the end, poly decay over the whole run)."""
    root = osp.join(SHARED_DATA, dataset)
    return [f'{s}_dataloader.dataset.data_root={root}'
            for s in ('train', 'val', 'test')] + schedule_options(iters)


def schedule_options(iters: int) -> List[str]:
    """``--cfg-options`` for a ``iters``-iteration schedule: validation and
    checkpoint at the end, poly decay (``param_scheduler[1]``) to the end."""
    return [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.1.end={iters}'
    ]


def run_tool(args: Sequence[str]) -> int:
    """Run ``python <args>`` in the repo; return the process's peak RSS in
    MiB (``wait4``'s ru_maxrss: the trainer itself, not its workers)."""
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f'{" ".join(args)} failed:\n{out[-5000:]}')
    return usage.ru_maxrss // 1024


def last_run_json(work_dir: str) -> dict:
    """Metrics of the newest ``tools/test.py`` run in ``work_dir``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, f'{d}.json')))
    with open(osp.join(work_dir, runs[-1], f'{runs[-1]}.json')) as f:
        return json.load(f)


def train_scalars(work_dir: str) -> List[dict]:
    """The ``vis_data/scalars.json`` records of the first training run in
    ``work_dir`` (test runs write none)."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    with open(osp.join(work_dir, runs[0], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


def train_iter_times(work_dir: str) -> List[float]:
    """Per-logging-interval iteration times of the first training run."""
    times = [rec['time'] for rec in train_scalars(work_dir)
             if 'time' in rec and 'loss' in rec]
    return times[1:]  # the first interval includes warm-up


def train_then_test(config: str, work_dir: str,
                    options: Sequence[str]) -> Tuple[dict, float, int]:
    """Train then test ``config``: the test metrics, the median seconds
    per training iteration and the trainer's peak RSS (MiB)."""
    rss = run_tool(['tools/train.py', config, '--work-dir', work_dir,
                    '--cfg-options', *options])
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    run_tool(['tools/test.py', config, ckpt, '--work-dir', work_dir,
              '--cfg-options', *options])
    t = statistics.median(train_iter_times(work_dir))
    return last_run_json(work_dir), round(t, 4), rss


def train_and_test(config: str, work_dir: str,
                   options: Sequence[str]) -> Dict[str, float]:
    """Train then test ``config``; metrics + speed + memory of the run."""
    m, iter_s, rss = train_then_test(config, work_dir, options)
    return dict(mIoU=m['mIoU'], mPrec=m['mPrecision'], mRec=m['mRecall'],
                F1=m['F1'], iter_s=iter_s, peak_rss_mib=rss)


def mean_spread(values: Sequence[Optional[float]], digits: int = 2) -> str:
    """``mean ± half-range`` of a row's runs (seeds); the value alone for one
    run, ``-`` for none (``None`` values are skipped)."""
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    mean = statistics.mean(values)
    if len(values) == 1:
        return f'{mean:.{digits}f}'
    half = (max(values) - min(values)) / 2
    return f'{mean:.{digits}f} ± {half:.{digits}f}'


def print_table(rows: List[dict], columns: Sequence[str]) -> None:
    if not rows:  # e.g. a run of only some rows of a benchmark
        return
    widths = [max(len(c), *(len(str(r.get(c, ''))) for r in rows))
              for c in columns]
    line = ' | '.join(c.ljust(w) for c, w in zip(columns, widths))
    print(line)
    print('-+-'.join('-' * w for w in widths))
    for r in rows:
        print(' | '.join(str(r.get(c, '')).ljust(w)
                         for c, w in zip(columns, widths)))


def setup_mmseg_wsss() -> None:
    """Register this checkout's components (default scope ``mmseg``) and
    apply its compatibility fixes, as the tools do."""
    sys.path.insert(0, REPO)
    from mmseg_wsss.utils import register_all_modules, setup_env
    register_all_modules()
    setup_env()


def save_json(name: str, obj) -> str:
    sys.path.insert(0, REPO)
    from mmseg_wsss.utils import atomic_write_json
    path = osp.join(RESULTS, name)
    atomic_write_json(path, obj, indent=2)
    return path


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn()``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_step_times(models: Dict[str, tuple], data: dict, steps: int,
                           warmup: int = 2) -> Dict[str, float]:
    """Median seconds of one training step (preprocess, losses, backward,
    optimiser step) of each ``name -> (model, optimiser[, autocast dtype])``
    on ``data``; the models take turns step by step, so all see the same
    machine load. With a dtype, preprocessing and losses run under CPU
    ``torch.autocast`` in it (as ``BF16OptimWrapper`` trains)."""
    import torch
    times = {name: [] for name in models}
    for i in range(steps + warmup):
        for name, (model, opt, *dtype) in models.items():
            t = time.perf_counter()
            with torch.autocast('cpu', dtype=(dtype or [None])[0],
                                enabled=bool(dtype)):
                d = model.data_preprocessor(data, True)
                losses = model.loss(d['inputs'], d['data_samples'])
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}
