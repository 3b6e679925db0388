"""Centroid branch of the Centroid Loss paper (§IV-B, Fig. 7)."""
from typing import List

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class CentroidHead(BaseModule):
    """Predicts one centroid per class, ``(N, C, M)``, from a backbone stage.

    Global average pooling of ``inputs[in_index]`` (the encoder's last stage
    in the paper) followed by ``num_blocks`` blocks of fully connected +
    batch-norm + ReLU layers; the last block outputs ``C * M`` values. The
    centroids live in the feature space of the Centroid Loss: the
    segmentation softmax (``M = C``, "N") or softmax + normalised RGB
    (``M = C + 3``, "NRGB", eq. 14), both non-negative, as the final ReLU
    guarantees. Batch-norm needs more than one image per batch in training.

    Args:
        in_channels (int): Channels of ``inputs[in_index]``.
        num_classes (int): C.
        feat_dim (int): M.
        in_index (int): Which backbone output to use. Defaults to 0 (the
            bottleneck of :class:`AttentionUNet` / MMSeg's ``UNet``); use
            ``-1`` for the last stage of ResNet-style backbones.
        channels (int): Hidden width of the FC blocks. Defaults to 256.
        num_blocks (int): Defaults to 3, as in the paper.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 feat_dim: int,
                 in_index: int = 0,
                 channels: int = 256,
                 num_blocks: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes, self.feat_dim = num_classes, feat_dim
        self.in_index = in_index
        widths = [in_channels] + [channels] * (num_blocks - 1) + [
            num_classes * feat_dim
        ]
        self.blocks = nn.Sequential(*(nn.Sequential(
            nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU())
                                      for c_in, c_out in zip(widths, widths[1:])))

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[self.in_index].mean(dim=(2, 3))
        return self.blocks(x).view(-1, self.num_classes, self.feat_dim)
