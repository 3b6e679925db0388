"""Shared by the DSRG / refresh-hook tests: a tiny DSRG model, seed maps for
the tiny dataset, and a hook that records the pseudo labels each training
batch was served (and, for distributed runs, dumps them per rank)."""
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from mmseg_wsss.engine.hooks.pseudo_label_refresh_hook import (
    PseudoLabelRefreshHook, weak_dataset)


def tiny_dsrg_model(grow: bool = True,
                    balanced: bool = True,
                    bg_index=0,
                    constrain_weight: float = 1.0,
                    theta_fg: float = 0.85,
                    theta_bg: float = 0.99,
                    **kwargs) -> dict:
    """ResNetV1c-18 (8 base channels) + ASPPHead, 3 classes, no dropout,
    trained as DSRG: the (grown, with ``grow``) seeds with the balanced
    (``balanced``) or SEC seed loss, plus the constrain loss."""
    steps = [dict(type='SeededRegionGrowing', theta_fg=theta_fg,
                  theta_bg=theta_bg, bg_index=bg_index)] if grow else []
    seed = (dict(type='BalancedSeedLoss', bg_index=bg_index) if balanced
            else dict(type='SeedLoss'))
    seed['target'] = 'grown' if grow else 'pseudo'
    return dict(
        type='WSSSEncoderDecoder',
        steps=steps,
        loss_weak=[seed, dict(type='ConstrainLoss',
                              loss_weight=constrain_weight)],
        data_preprocessor=dict(
            type='WeakSegDataPreProcessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
            seg_pad_val=255, size_divisor=8, test_cfg=dict(size_divisor=8)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8,
                      base_channels=8, dilations=(1, 1, 2, 4),
                      strides=(1, 2, 1, 1), contract_dilation=True),
        decode_head=dict(type='ASPPHead', in_channels=64, in_index=3,
                         channels=8, dilations=(1, 2), dropout_ratio=0.0,
                         num_classes=3, align_corners=False,
                         loss_decode=[]),
        train_cfg=dict(),
        test_cfg=ConfigDict(mode='whole'),
        **kwargs)


def refresh_run_cfg(root: str, max_iters: int, interval: int = 2,
                    at_end: bool = False, hooks=(), num_workers: int = 0,
                    persistent: bool = False, shuffle: bool = False,
                    flip: bool = False, lr: float = 0.01,
                    momentum: float = 0.0) -> dict:
    """A runner config: the tiny DSRG model trained for ``max_iters`` on the
    seeds of ``root`` (:func:`write_seeds`) with PseudoLabelRefreshHook
    (``interval``, ``at_end``) followed by ``hooks``, checkpoints every 2
    iterations, seed 0."""
    aug = [dict(type='WeakRandomFlip', prob=0.5)] if flip else []
    return dict(
        default_scope='mmseg',
        model=tiny_dsrg_model(constrain_weight=0.0),
        train_dataloader=dict(
            batch_size=2, num_workers=num_workers,
            persistent_workers=persistent,
            sampler=dict(type='InfiniteSampler', shuffle=shuffle),
            dataset=dict(
                type='WeakSegDataset', data_root=root,
                data_prefix=dict(img_path='img_dir/train',
                                 pseudo_path='seeds/train'),
                tags_file='weak/tags.json',
                pipeline=[
                    dict(type='LoadCheckedImageFromFile'),
                    dict(type='LoadWeakAnnotations',
                         annotations=['pseudo', 'tags']), *aug,
                    dict(type='PackWeakSegInputs', target=None)
                ])),
        train_cfg=dict(type='WSSSIterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr,
                                          momentum=momentum)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=2, max_keep_ckpts=-1)),
        custom_hooks=[
            dict(type='PseudoLabelRefreshHook', interval=interval,
                 at_end=at_end), *hooks
        ],
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0, deterministic=True))


def write_seeds(root: str, sub: str = 'seeds/train') -> str:
    """Sparse seeds from the tiny dataset's full masks: every third pixel of
    each class's interior, 255 elsewhere."""
    out = osp.join(root, sub)
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(osp.join(root, 'ann_dir/train'))):
        mask = cv2.imread(osp.join(root, 'ann_dir/train', name),
                          cv2.IMREAD_UNCHANGED)
        seeds = np.full_like(mask, 255)
        keep = cv2.erode((mask > 0).astype(np.uint8), np.ones((3, 3))) > 0
        keep |= mask == 0
        keep &= (np.add.outer(np.arange(mask.shape[0]),
                              np.arange(mask.shape[1])) % 3) == 0
        seeds[keep] = mask[keep]
        cv2.imwrite(osp.join(out, name), seeds)
    return sub


def read_map(path: str) -> np.ndarray:
    return cv2.imread(path, cv2.IMREAD_UNCHANGED)


@HOOKS.register_module()
class ServedLabelsProbe(Hook):
    """Records ``(iter, img_path, gt_pseudo_seg)`` of every training sample;
    with ``dump=True`` each rank saves them and its dataset's state after
    training to ``work_dir/probe_rank{r}.pth``."""

    def __init__(self, dump: bool = False) -> None:
        self.dump = dump
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.seen += [(runner.iter, s.img_path,
                       s.gt_pseudo_seg.data[0].numpy())
                      for s in data_batch['data_samples']]

    def after_train(self, runner) -> None:
        if not self.dump:
            return
        hook = next(h for h in runner.hooks
                    if isinstance(h, PseudoLabelRefreshHook))
        torch.save(
            dict(seen=self.seen, version=hook.version, path=hook.path,
                 pseudo_path=weak_dataset(runner.train_dataloader.dataset)
                 .data_prefix['pseudo_path']),
            osp.join(runner.work_dir, f'probe_rank{get_rank()}.pth'))
