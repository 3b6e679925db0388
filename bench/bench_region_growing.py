"""Speed of DSRG's region growing (Sec. 3.3, eq. 3) on this CPU.

The vectorised ``grow_seeds`` (one connected-component labelling per tagged
class) against the paper's visiting process written as plain Python
(``reference_grow`` of ``tests/test_region_growing.py``), on 321x321 maps
with 21 classes (DeepLab's PASCAL VOC crop). The outputs must be identical.

Each map: a "segmentation output" ``softmax(T * blur(noise))`` (Gaussian
blur, sigma 12, so regions are smooth; the image's tags, background plus one
to three foreground classes, get a logit bonus) and seeds from the DSRG CAM
cues of Sec. 4.1 (``cam_seeds``, top 20% per class) thresholded on a
second, noisier "CAM" map of the same scene, so seeds and probabilities
agree only roughly, as a classifier's and a segmenter's do.

    python bench/bench_region_growing.py [--maps 5] [--repeats 20]
"""
import argparse
import os.path as osp
import statistics
import sys

import numpy as np
from scipy import ndimage

from common import REPO, median_seconds, print_table, save_json

sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests'))
from mmseg_wsss.algorithms import cam_seeds, grow_seeds  # noqa: E402
from test_region_growing import reference_grow  # noqa: E402

SIZE, NUM_CLASSES = 321, 21


def _smooth_noise(rng: np.random.Generator, sigma: float) -> np.ndarray:
    noise = ndimage.gaussian_filter(
        rng.normal(size=(NUM_CLASSES, SIZE, SIZE)), (0, sigma, sigma))
    return noise / noise.std()


def make_map(seed: int, temperature: float = 10.0, bonus: float = 4.0):
    """(probs (21, 321, 321) float32, seeds (321, 321) uint8, tags)."""
    rng = np.random.default_rng(seed)
    fg = rng.choice(np.arange(1, NUM_CLASSES), rng.integers(1, 4),
                    replace=False)
    tags = [0] + sorted(fg.tolist())
    scene = _smooth_noise(rng, 12)
    scene[tags] += bonus
    logits = temperature * scene
    probs = np.exp(logits - logits.max(0))
    probs = (probs / probs.sum(0)).astype(np.float32)
    cams = np.maximum(scene - scene[0] + _smooth_noise(rng, 4), 0)
    return probs, cam_seeds(cams, tags), tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--maps', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=20,
                        help='timed runs of the vectorised version per map')
    parser.add_argument('--reference-repeats', type=int, default=3)
    args = parser.parse_args()

    rows = []
    for seed in range(args.maps):
        probs, seeds, tags = make_map(seed)
        grown = grow_seeds(probs, seeds, tags)
        if not np.array_equal(grown, reference_grow(probs, seeds, tags)):
            sys.exit(f'map {seed}: vectorised and reference outputs differ')
        fast = median_seconds(lambda: grow_seeds(probs, seeds, tags),
                               args.repeats)
        slow = median_seconds(lambda: reference_grow(probs, seeds, tags),
                               args.reference_repeats)
        rows.append(dict(
            map=seed, tags=' '.join(map(str, tags)),
            seeds_pct=round(100 * np.mean(seeds != 255), 1),
            grown_pct=round(100 * np.mean(grown != seeds), 1),
            vectorised_ms=round(1e3 * fast, 2),
            reference_ms=round(1e3 * slow, 1),
            speedup=round(slow / fast, 1)))
    speedup = statistics.median(r['speedup'] for r in rows)
    rows.append(dict(map='median', speedup=speedup,
                     vectorised_ms=statistics.median(
                         r['vectorised_ms'] for r in rows),
                     reference_ms=statistics.median(
                         r['reference_ms'] for r in rows)))
    print_table(rows, ['map', 'tags', 'seeds_pct', 'grown_pct',
                       'vectorised_ms', 'reference_ms', 'speedup'])
    path = save_json('region_growing.json', dict(
        size=SIZE, num_classes=NUM_CLASSES, repeats=args.repeats,
        reference_repeats=args.reference_repeats, identical_output=True,
        median_speedup=speedup, target_speedup=50,
        target_met=speedup >= 50, rows=rows))
    print(f'median speed-up {speedup}x (target >= 50x); wrote {path}')


if __name__ == '__main__':
    main()
