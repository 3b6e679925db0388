"""Speed of the Centroid Loss method on this CPU.

1. Training-step time (forward, backward, optimiser step) of the Attention
   U-Net with the centroid branch and L = pCE + Lcen + Lmse against the same
   network trained with pCE alone; A and B steps interleaved in one process,
   medians over many steps, reported as a ratio (target <= 1.10).
2. SLICO superpixel pseudo-mask generation (``pseudo_mask_from_scribbles``)
   at 320x320 on neu_seg images with their width-20 scribbles: images/s
   with 1 and 2 processes.

    python bench/bench_centroid_speed.py [--steps 30] [--batch 8] [--size 128]
"""
import argparse
import os
import os.path as osp
import sys
import time
from multiprocessing import Pool

import cv2
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from common import (REPO, SHARED_DATA, interleaved_step_times, print_table,
                    save_json, setup_mmseg_wsss)

sys.path.insert(0, REPO)
from mmseg_wsss.algorithms.superpixels import \
    pseudo_mask_from_scribbles  # noqa: E402


def _batch(n: int, size: int, num_classes: int = 2):
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(n, 3, size, size, generator=g) * 255
    samples = []
    for _ in range(n):
        pseudo = torch.randint(0, num_classes, (1, size, size), generator=g)
        pseudo[:, :size // 4] = 255
        scr = torch.full_like(pseudo, 255)
        scr[:, size // 2:size // 2 + 8] = pseudo[:, size // 2:size // 2 + 8]
        s = SegDataSample(gt_sem_seg=PixelData(data=pseudo),
                          gt_scribble=PixelData(data=scr))
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return dict(inputs=list(inputs), data_samples=samples)


def step_times(steps: int, batch: int, size: int) -> dict:
    setup_mmseg_wsss()
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/centroid',
        'centroid_attention-unet-s5_1k_demo-corrosion-128x128.py'))
    models = {}
    for name, lam in (('pCE', 0.0), ('pCE+Lcen+Lmse', 1.0)):
        torch.manual_seed(0)
        m = cfg.model.copy()
        for loss in m.loss_weak:
            loss.loss_weight = lam
        model = MODELS.build(m)
        models[name] = (model, torch.optim.AdamW(model.parameters(), 1e-3))
    return interleaved_step_times(models, _batch(batch, size), steps,
                                  warmup=3)


def _pseudo(args):
    img_path, scr_path = args
    img = cv2.resize(cv2.imread(img_path), (320, 320),
                     interpolation=cv2.INTER_LINEAR)[..., ::-1].copy()
    scr = cv2.resize(cv2.imread(scr_path, cv2.IMREAD_UNCHANGED), (320, 320),
                     interpolation=cv2.INTER_NEAREST)
    return pseudo_mask_from_scribbles(img, scr, 50, 4)


def slico_throughput(n: int) -> dict:
    root = osp.join(SHARED_DATA, 'neu_seg')
    stems = sorted(os.listdir(osp.join(root, 'img_dir/train')))[:n]
    items = [(osp.join(root, 'img_dir/train', s),
              osp.join(root, 'weak/scribbles_w20/train',
                       s.replace('.jpg', '.png'))) for s in stems]
    out = {}
    t = time.perf_counter()
    for it in items:
        _pseudo(it)
    out['1 process'] = n / (time.perf_counter() - t)
    with Pool(2) as pool:
        t = time.perf_counter()
        pool.map(_pseudo, items)
        out['2 processes'] = n / (time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--slico-images', type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(2)
    st = step_times(args.steps, args.batch, args.size)
    ratio = st['pCE+Lcen+Lmse'] / st['pCE']
    rows = [dict(measure=f'train step, {k} (median s, batch {args.batch}, '
                 f'{args.size}px)', value=round(v, 4)) for k, v in st.items()]
    rows.append(dict(measure='centroid branch + losses / pCE alone',
                     value=round(ratio, 3)))
    sl = slico_throughput(args.slico_images)
    rows += [dict(measure=f'SLICO pseudo-masks 320x320, {k} (img/s)',
                  value=round(v, 1)) for k, v in sl.items()]
    print_table(rows, ['measure', 'value'])
    print('saved', save_json('centroid_speed.json', dict(
        step_s=st, ratio=ratio, slico_img_s=sl, steps=args.steps,
        batch=args.batch, size=args.size)))


if __name__ == '__main__':
    main()
