"""BENet, the boundary exploration network of BES (004_5070bdb16ae301dd,
§3.1 and §4.1)."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class BENetHead(BaseDecodeHead):
    """One boundary logit per pixel from every backbone stage.

    BES fuses "different level features ... by concatenating resized feature
    maps from five stages with 1x1 convolution layers" (§4.1): each selected
    stage is reduced to ``channels`` by a 1x1 conv (+ norm + activation),
    resized (bilinear) to the finest selected stage, the maps are
    concatenated, fused by a 1x1 conv and classified by ``conv_seg`` into
    one channel: MMSeg's binary convention (``num_classes=2``,
    ``out_channels=1``), so inference gives the boundary probability in
    ``seg_logits`` and a thresholded map in ``pred_sem_seg``. Works on any
    MMSeg backbone that returns several stages (``ResNetV1c`` with
    ``out_indices=(0, 1, 2, 3)``, ``UNet``, the package's
    ``AttentionUNet``): ``in_channels`` and ``in_index`` list the stages.
    Train it with :class:`~mmseg_wsss.models.losses.RelaxedBoundaryLoss`
    (eq. 4) in ``model.loss_weak`` and ``loss_decode=[]``.

    Args:
        in_channels (Sequence[int]): Channels of the selected stages.
        in_index (Sequence[int]): Which backbone outputs to fuse.
        channels (int): Width of each reduced stage and of the fusion.
        threshold (float): Boundary probability threshold at inference.
        **kwargs: ``BaseDecodeHead``'s (``norm_cfg``, ``align_corners``,
            ``dropout_ratio``, ...).
    """
    #: it predicts boundaries, not the dataset's classes: ``DatasetCheckHook``
    #: does not compare its ``num_classes`` with the dataset's
    class_agnostic = True

    def __init__(self,
                 in_channels: Sequence[int],
                 in_index: Sequence[int],
                 channels: int = 32,
                 threshold: float = 0.5,
                 **kwargs) -> None:
        if len(in_channels) != len(in_index) or len(in_index) < 2:
            raise ValueError('BENetHead fuses two or more stages: give as '
                             'many in_channels as in_index, got '
                             f'{list(in_channels)} and {list(in_index)}')
        kwargs.setdefault('loss_decode', [])
        super().__init__(
            list(in_channels), channels, in_index=list(in_index),
            input_transform='multiple_select', num_classes=2,
            out_channels=1, threshold=threshold, **kwargs)
        self.reduce = nn.ModuleList([
            ConvModule(c, channels, 1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c in in_channels
        ])
        self.fuse = ConvModule(
            channels * len(in_channels), channels, 1, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """(N, 1, h, w) boundary logits at the finest selected stage."""
        if len(inputs) <= max(self.in_index):
            raise ValueError(
                f'BENetHead fuses backbone stages {self.in_index}, but the '
                f'backbone gives {len(inputs)} outputs: set the backbone\'s '
                'out_indices or the head\'s in_index/in_channels')
        feats = self._transform_inputs(inputs)
        size = max((f.shape[2:] for f in feats), key=lambda s: s[0] * s[1])
        fused = torch.cat([
            resize(reduce(f), size=size, mode='bilinear',
                   align_corners=self.align_corners)
            for reduce, f in zip(self.reduce, feats)
        ], dim=1)
        return self.cls_seg(self.fuse(fused))
