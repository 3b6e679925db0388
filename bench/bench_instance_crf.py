"""Speed of the instance CRF head (003_92e9ad3e958c7c40, §3.5, eq. 2-4) on
this CPU: ``InstanceCRFHead`` forward (detections checked, unaries, kernel
weights, 3 mean-field iterations; no grad) per 320x320 image, float32,
median of ``--repeats``.

Inputs: Cityscapes-like, 19 classes of which 11 "stuff" (one whole-image
dummy each, so D detections give D + 11 instances), random semantic
probabilities, a random RGB image and random boxes of "thing" classes
(the cost does not depend on the values). Rows: D = 5, 10, 20, 40 at the
default window radius 3; radius 3, 5, 7 at D = 20; D = 20 with 2 torch
threads (may be disturbed by other jobs on the machine); and one training
step (forward + matched cross-entropy + backward) at D = 20.

    OMP_NUM_THREADS=1 python bench/bench_instance_crf.py
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

from common import REPO, median_seconds, print_table, save_json

sys.path.insert(0, REPO)
from mmseg_wsss.models.decode_heads.instance_crf_head import (  # noqa: E402
    InstanceCRFHead)

SIZE, CLASSES, STUFF = 320, 19, list(range(11))
TARGET_S = 0.5


def inputs(num_det: int, seed: int = 0):
    """Probabilities, image and one detection set, batch of one."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    probs = torch.softmax(3 * torch.randn(1, CLASSES, SIZE, SIZE,
                                          generator=gen), 1)
    img = 255 * torch.rand(1, 3, SIZE, SIZE, generator=gen)
    xy = rng.uniform(0, SIZE, (num_det, 2, 2))
    boxes = np.concatenate([xy.min(1), xy.max(1)], 1)
    dets = (torch.as_tensor(rng.integers(len(STUFF), CLASSES, num_det)),
            torch.as_tensor(rng.uniform(.3, 1, num_det)),
            torch.as_tensor(boxes))
    return probs, img, [dets]


def forward_row(num_det: int, radius: int, threads: int,
                repeats: int) -> dict:
    torch.set_num_threads(threads)
    head = InstanceCRFHead(iters=3, radius=radius)
    probs, img, dets = inputs(num_det)
    with torch.no_grad():
        head(probs, img, dets, STUFF)  # warm-up
        total = median_seconds(lambda: head(probs, img, dets, STUFF),
                               repeats)
        weights = median_seconds(lambda: head.kernel_weights(img[0]),
                                 repeats)
    return dict(threads=threads, detections=num_det,
                instances=num_det + len(STUFF), radius=radius,
                window=(2 * radius + 1)**2 - 1, forward_s=round(total, 4),
                kernel_weights_s=round(weights, 4),
                meets_target=total <= TARGET_S)


def train_step_seconds(repeats: int) -> float:
    torch.set_num_threads(1)
    head = InstanceCRFHead(iters=3, radius=3)
    probs, img, dets = inputs(20)
    probs.requires_grad_(True)
    gt = [torch.as_tensor(np.random.default_rng(1).integers(
        0, 31, (SIZE, SIZE)))]

    def step():
        head.zero_grad()
        head.loss(head(probs, img, dets, STUFF), gt).backward()

    step()
    return median_seconds(step, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = [forward_row(d, 3, 1, args.repeats) for d in (5, 10, 20, 40)]
    rows += [forward_row(20, r, 1, args.repeats) for r in (5, 7)]
    rows.append(forward_row(20, 3, 2, args.repeats))
    train_s = round(train_step_seconds(args.repeats), 4)
    print_table(rows, ['threads', 'detections', 'instances', 'radius',
                       'window', 'forward_s', 'kernel_weights_s',
                       'meets_target'])
    print(f'training step (forward + loss + backward), D = 20, radius 3, '
          f'1 thread: {train_s} s')
    out = dict(
        image=f'{SIZE}x{SIZE}', classes=CLASSES, stuff_dummies=len(STUFF),
        iters=3, dtype='float32', repeats=args.repeats,
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        torch=torch.__version__, target_s=TARGET_S, rows=rows,
        train_step_s_d20_r3_1thread=train_s,
        note='the 2-thread row may be disturbed by a concurrent benchmark '
             'on this 2-core machine',
        wall_s=round(time.perf_counter() - start, 1))
    print(save_json('instance_crf.json', out))


if __name__ == '__main__':
    main()
