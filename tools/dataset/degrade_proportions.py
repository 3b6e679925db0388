"""Degrade a proportions file as in the SPSS paper's sensitivity analysis
(§3.2): Gaussian noise + softmax (eq. 5, Table 3) or K-means clustering
(Fig. 7, Table 4).

    python tools/dataset/degrade_proportions.py IN.json OUT.json
        (--noise SIGMA | --clusters K) [--splits train] [--seed 0]

Only the samples whose key starts with ``<split>/`` for one of ``--splits``
are degraded (the paper degrades the training set); the others are copied
unchanged. Clustering runs over the degraded samples together. The output
is written atomically; point a config at it with
``--cfg-options train_dataloader.dataset.proportions_file=OUT.json``.
"""
import argparse
import json

import numpy as np

from mmseg_wsss.algorithms.proportions import (cluster_proportions,
                                               noisy_proportions)
from mmseg_wsss.utils import atomic_write_json


def degrade(table: dict, splits: list, rng: np.random.Generator,
            noise: float = None, clusters: int = None) -> dict:
    """Return a copy of ``table`` with the ``splits`` samples degraded."""
    keys = sorted(k for k in table if k.split('/', 1)[0] in splits)
    if not keys:
        raise ValueError(f'no sample of splits {splits} in the file')
    props = np.array([table[k] for k in keys], dtype=np.float64)
    if noise is not None:
        new = noisy_proportions(props, noise, rng)
    else:
        new, _ = cluster_proportions(props, clusters, rng)
    out = dict(table)
    out.update({k: [round(float(v), 6) for v in row]
                for k, row in zip(keys, new)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input')
    parser.add_argument('output')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--noise', type=float, help='sigma of eq. (5)')
    group.add_argument('--clusters', type=int, help='K of the K-means')
    parser.add_argument('--splits', nargs='+', default=['train'])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    with open(args.input) as f:
        table = json.load(f)
    out = degrade(table, args.splits, np.random.default_rng(args.seed),
                  args.noise, args.clusters)
    changed = [k for k in table if table[k] != out[k]]
    mae = np.mean([np.abs(np.subtract(table[k], out[k])).sum()
                   for k in changed]) if changed else 0.0
    atomic_write_json(args.output, out)
    print(json.dumps(dict(samples=len(out), changed=len(changed),
                          mean_l1_change=round(float(mae), 4))))


if __name__ == '__main__':
    main()
