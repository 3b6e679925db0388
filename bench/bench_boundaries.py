"""Speed of BES boundary-label synthesis (eq. 2-3) on this CPU.

``synthesize_boundary_labels`` (exact integer window counts from cumulative
sums) at 128x128, 256x256 and 512x512, window 13 and the paper's thresholds,
against the per-pixel brute force of ``tests/test_boundaries.py``
(``reference_regions``: Python loops, exact fractions), run only where its
estimated time (extrapolated from the smallest size) stays under
``--reference-budget`` seconds; where it runs, the outputs must be identical.
For reference, the authors' approach (float32 ``F.avg_pool2d`` per class on
the CPU, one thread) is timed too, with the number of pixels where its
float32 proportions decide differently from the exact counts (on these
maps: windows clipped by the border to 10 x 13 = 130 pixels with
``|N1 - N0| = 13``, i.e. ``|S1 - S0| = 0.1 = theta_diff`` exactly, which
float32 makes "< 0.1": boundary instead of uncertain).

Each map is the eq. (1) labelling (``threshold_localization``) of smooth
random "CAMs" of background plus 1-3 foreground classes, so it holds
regions, uncertain bands and class changes like real localization maps.

    python bench/bench_boundaries.py [--repeats 7]
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from common import REPO, median_seconds, print_table, save_json

sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests'))
from mmseg_wsss.algorithms import (REGION_BOUNDARY, REGION_FG,  # noqa: E402
                                   synthesize_boundary_labels,
                                   synthesize_boundary_regions,
                                   threshold_localization)
from test_boundaries import reference_regions  # noqa: E402

SIZES = (128, 256, 512)
NUM_CLASSES = 21
WINDOW, THETA_SCALE, THETA_DIFF = 13, 0.35, 0.10


def make_labels(size: int, seed: int = 0) -> np.ndarray:
    """Eq. (1) labels of smooth random normalised CAMs (size x size)."""
    rng = np.random.default_rng(seed)
    fg = rng.choice(np.arange(1, NUM_CLASSES), rng.integers(1, 4),
                    replace=False)
    cams = np.zeros((NUM_CLASSES, size, size))
    for c in fg:
        blob = ndimage.gaussian_filter(rng.normal(size=(size, size)),
                                       size / 16)
        blob = np.maximum(blob - np.quantile(blob, 0.6), 0)
        cams[c] = (blob / blob.max())**0.25  # steep edges, thin bands
    return threshold_localization(cams, [0, *fg.tolist()])


def float32_pooling(labels: np.ndarray) -> np.ndarray:
    """The authors' approach in float32: per-class proportions by average
    pooling (padding ignored in the count); returns the region codes."""
    t = torch.from_numpy(labels.astype(np.int64))
    classes = [c for c in np.unique(labels).tolist() if c not in (0, 255)]
    masks = torch.stack([t == 0] + [t == c for c in classes]).float()
    props = F.avg_pool2d(masks[None], WINDOW, stride=1, padding=WINDOW // 2,
                         count_include_pad=False)[0]
    s0 = props[0]
    top = torch.sort(props[1:], 0, descending=True)[0] if classes else \
        torch.zeros(2, *labels.shape)
    s1 = top[0]
    s2 = top[1] if len(top) > 1 else torch.zeros_like(s1)
    ts, td = THETA_SCALE, THETA_DIFF
    out = torch.full(labels.shape, 255, dtype=torch.uint8)
    out[(s0 > 2 * ts) & (s0 - s1 >= 2 * td)] = 0
    out[(s1 > 2 * ts) & (s1 - s0 >= 2 * td)] = REGION_FG
    out[((torch.minimum(s1, s0) > ts) & ((s1 - s0).abs() < td))
        | ((s2 > ts) & (s1 - s2 < td))] = REGION_BOUNDARY
    return out.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--reference-repeats', type=int, default=3)
    parser.add_argument('--reference-budget', type=float, default=30.0,
                        help='skip the brute force where one run is '
                        'estimated to take longer (seconds)')
    args = parser.parse_args()
    torch.set_num_threads(1)

    kwargs = dict(window=WINDOW, theta_scale=THETA_SCALE,
                  theta_diff=THETA_DIFF)
    rows, per_pixel = [], None
    for size in SIZES:
        labels = make_labels(size)
        out = synthesize_boundary_labels(labels, **kwargs)
        regions = synthesize_boundary_regions(labels, **kwargs)
        fast = median_seconds(
            lambda: synthesize_boundary_labels(labels, **kwargs),
            args.repeats)
        paper = median_seconds(
            lambda: synthesize_boundary_labels(labels, rule='paper',
                                               **kwargs), args.repeats)
        pooled = median_seconds(lambda: float32_pooling(labels),
                                 args.repeats)
        row = dict(size=f'{size}x{size}',
                   classes=len(np.setdiff1d(np.unique(labels), [0, 255])),
                   boundary_pct=round(100 * np.mean(out == 1), 2),
                   uncertain_pct=round(100 * np.mean(out == 255), 2),
                   authors_ms=round(1e3 * fast, 2),
                   paper_ms=round(1e3 * paper, 2),
                   float32_pool_ms=round(1e3 * pooled, 2),
                   float32_mismatch=int(np.count_nonzero(
                       float32_pooling(labels) != regions)))
        estimate = per_pixel * size * size if per_pixel else 0.0
        if estimate <= args.reference_budget:
            start = time.perf_counter()
            ref = reference_regions(labels, **kwargs)
            first = time.perf_counter() - start
            if not np.array_equal(ref, regions):
                sys.exit(f'{size}: vectorised and reference outputs differ')
            more = [] if first > 10 else [
                median_seconds(lambda: reference_regions(labels, **kwargs),
                                1) for _ in range(args.reference_repeats - 1)]
            slow = statistics.median([first, *more])
            per_pixel = slow / (size * size)
            row.update(reference_s=round(slow, 2),
                       speedup=round(slow / fast))
        else:
            row.update(reference_s=f'skipped (~{estimate:.0f} s)')
        rows.append(row)
    columns = ['size', 'classes', 'boundary_pct', 'uncertain_pct',
               'authors_ms', 'paper_ms', 'float32_pool_ms',
               'float32_mismatch', 'reference_s', 'speedup']
    print_table(rows, columns)
    path = save_json('boundaries.json', dict(
        window=WINDOW, theta_scale=THETA_SCALE, theta_diff=THETA_DIFF,
        repeats=args.repeats, reference_repeats=args.reference_repeats,
        reference_budget_s=args.reference_budget,
        identical_output_where_run=True, torch_threads=1, rows=rows))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
