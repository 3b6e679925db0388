"""Speed and memory of BES's random-walk propagation (§3.1, eq. 5) on this
CPU: the sparse walk of ``mmseg_wsss.algorithms.random_walk.propagate``
against IRN's dense method (``tests/random_walk_reference.py``: the full
``(HW)^2`` matrix, ``T^(2^8)`` by 8 squarings, IRN's ``propagate_to_edge``
with numpy), both float64, 2^8 = 256 steps, beta = 5, radius 5.

Each run is a fresh subprocess: time (affinities + matrix + walk; median of
``--repeats``), the peak of numpy's allocations (tracemalloc) and the
process's peak RSS (``wait4``'s ru_maxrss, which includes the interpreter,
numpy and scipy: see the ``baseline`` line). The dense method runs only
where its estimated time (from this machine's measured matmul speed) is
under ``--dense-limit`` seconds and its three ``(HW)^2`` matrices fit in
``--dense-memory`` GiB; otherwise the table says "does not fit" with the
estimate. Where both run, their outputs must agree to 1e-6.

Inputs: a boundary map of a random Voronoi partition (boundaries blurred,
sigma 1, plus noise) and ``--classes`` Gaussian-blob localization maps at
the boundary map's resolution (the stride-4 grid of a 4x larger image).

    OMP_NUM_THREADS=1 python bench/bench_random_walk.py [--sizes 64 128]
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy import ndimage

from common import REPO, print_table, save_json

sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests'))
from mmseg_wsss.algorithms.random_walk import (  # noqa: E402
    neighbour_offsets, path_affinities, propagate)
from random_walk_reference import (dense_affinity_from,  # noqa: E402
                                   dense_random_walk)

STEPS, EXP_TIMES, BETA, RADIUS = 256, 8, 5.0, 5


def make_inputs(size: int, classes: int, seed: int = 0):
    """(cams (classes, size, size), boundary (size, size)) in [0, 1]."""
    rng = np.random.default_rng(seed)
    seeds = rng.random((max(4, size // 8), 2)) * size
    yy, xx = np.mgrid[:size, :size]
    d = (yy[..., None] - seeds[:, 0])**2 + (xx[..., None] - seeds[:, 1])**2
    regions = d.argmin(-1)
    edges = np.zeros((size, size))
    edges[:-1] += regions[:-1] != regions[1:]
    edges[:, :-1] += regions[:, :-1] != regions[:, 1:]
    boundary = ndimage.gaussian_filter(np.minimum(edges, 1), 1.0)
    boundary = boundary / boundary.max() + 0.05 * rng.random((size, size))
    boundary = np.clip(boundary, 0, 1)
    cams = np.empty((classes, size, size))
    for c in range(classes):
        cy, cx = rng.random(2) * size
        sigma = size / 10
        cams[c] = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * sigma**2))
    return cams, boundary


# ------------------------------------------------------------------ worker

def sparse_walk(cams, boundary):
    return propagate(cams, boundary, beta=BETA, radius=RADIUS, steps=STEPS)


def dense_walk(cams, boundary):
    offsets = neighbour_offsets(RADIUS)
    aff = dense_affinity_from(path_affinities(boundary, offsets, BETA),
                              offsets)
    return dense_random_walk(cams, boundary, exp_times=EXP_TIMES, aff=aff)


def worker(method: str, size: int, classes: int, out: str) -> None:
    cams, boundary = make_inputs(size, classes)
    walk = dict(sparse=sparse_walk, dense=dense_walk).get(method)
    tracemalloc.start()
    start = time.perf_counter()
    result = walk(cams, boundary) if walk else None
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if result is not None and out:
        np.save(out, result)
    print(json.dumps(dict(seconds=seconds, traced_mib=peak / 2**20)))


# ------------------------------------------------------------------ parent

def run_worker(method: str, size: int, classes: int, out: str = '') -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, '--worker', method, '--sizes', str(size),
         '--classes', str(classes), '--out', out], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit(f'{method} {size}: failed\n{text[-3000:]}')
    res = json.loads(text.strip().splitlines()[-1])
    res['rss_mib'] = usage.ru_maxrss / 1024
    return res


def matmul_gflops(n: int = 1024) -> float:
    a = np.random.default_rng(0).random((n, n))
    a @ a
    start = time.perf_counter()
    for _ in range(3):
        a @ a
    return 3 * 2 * n**3 / (time.perf_counter() - start) / 1e9


def measure(method: str, size: int, classes: int, repeats: int,
            out: str) -> dict:
    runs = [run_worker(method, size, classes, out if i == 0 else '')
            for i in range(repeats)]
    return dict(seconds=round(statistics.median(r['seconds'] for r in runs),
                              3),
                traced_mib=round(max(r['traced_mib'] for r in runs), 1),
                rss_mib=round(max(r['rss_mib'] for r in runs), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[32, 64, 128, 256, 512])
    parser.add_argument('--classes', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dense-limit', type=float, default=60.0,
                        help='seconds; larger dense runs are skipped')
    parser.add_argument('--dense-memory', type=float, default=8.0,
                        help='GiB for the dense matrices')
    parser.add_argument('--worker', choices=['sparse', 'dense', 'none'])
    parser.add_argument('--out', default='')
    parser.add_argument('--json', default='random_walk.json',
                        help='file in bench/results; merged with its rows')
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.sizes[0], args.classes, args.out)
        return

    gflops = matmul_gflops()
    baseline = run_worker('none', 8, 1)
    print(f'float64 matmul: {gflops:.1f} GFLOP/s; baseline process RSS '
          f'{baseline["rss_mib"]:.0f} MiB; OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS")}')
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'results', args.json)
    rows = {}
    if osp.isfile(path):
        with open(path) as f:
            rows = {r['size']: r for r in json.load(f).get('rows', [])}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n = size * size
            row = dict(size=size, pixels=n)
            s_out, d_out = osp.join(tmp, 's.npy'), osp.join(tmp, 'd.npy')
            sp = measure('sparse', size, args.classes, args.repeats, s_out)
            row.update(sparse_s=sp['seconds'],
                       sparse_traced_mib=sp['traced_mib'],
                       sparse_rss_mib=sp['rss_mib'])
            dense_gib = 3 * n * n * 8 / 2**30
            dense_est = EXP_TIMES * 2 * n**3 / (gflops * 1e9)
            row.update(dense_est_s=round(dense_est, 1),
                       dense_est_gib=round(dense_gib, 2))
            if dense_est < args.dense_limit and dense_gib < args.dense_memory:
                de = measure('dense', size, args.classes, args.repeats, d_out)
                diff = float(np.abs(np.load(s_out) - np.load(d_out)).max())
                if diff > 1e-6:
                    sys.exit(f'{size}: sparse and dense differ by {diff}')
                row.update(dense_s=de['seconds'],
                           dense_traced_mib=de['traced_mib'],
                           dense_rss_mib=de['rss_mib'],
                           max_abs_diff=float(f'{diff:.2g}'),
                           speedup=round(de['seconds'] / sp['seconds'], 1))
            else:
                row.update(dense_s='does not fit', speedup='')
            rows[size] = row
            print(json.dumps(row), flush=True)

    table = [rows[s] for s in sorted(rows)]
    print_table(table, ['size', 'sparse_s', 'sparse_traced_mib',
                        'sparse_rss_mib', 'dense_s', 'dense_traced_mib',
                        'dense_rss_mib', 'speedup', 'max_abs_diff',
                        'dense_est_s', 'dense_est_gib'])
    largest = max(rows)
    result = dict(
        steps=STEPS, beta=BETA, radius=RADIUS, classes=args.classes,
        repeats=args.repeats, dtype='float64',
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        matmul_gflops=round(gflops, 1),
        baseline_rss_mib=round(baseline['rss_mib'], 1),
        target_speedup=10, target_rss_mib_at_512=1024,
        note=('32x32 is an extra row below the requested sizes '
              '(64, 128, 256, 512): there the dense BLAS squarings are '
              'within 10x of the sparse walk'),
        min_speedup_from_64=min((r['speedup'] for r in table
                                 if r['speedup'] != '' and r['size'] >= 64),
                                default=None),
        largest=largest,
        rss_mib_at_largest=rows[largest]['sparse_rss_mib'],
        rows=table)
    print('saved', save_json(args.json, result))


if __name__ == '__main__':
    main()
