"""Attention U-Net of the Centroid Loss paper (§IV-B, Fig. 6-7, eq. 1)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS


class ResConvBlock(nn.Module):
    """Two 3x3 conv-BN(-ReLU) layers with a 1x1 "Conv Skip" (Fig. 7)."""

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: dict) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            ConvModule(in_channels, out_channels, 3, padding=1,
                       norm_cfg=norm_cfg),
            ConvModule(out_channels, out_channels, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=None))
        self.skip = ConvModule(in_channels, out_channels, 1,
                               norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.convs(x) + self.skip(x))


class AttentionGate(nn.Module):
    """Additive attention gate, eq. (1):
    ``alpha = sigmoid(psi(relu(W_x x + W_g g + b_g)) + b_psi)``,
    output ``alpha * x``. ``g`` comes from the coarser decoder level,
    already up-sampled to ``x``'s size."""

    def __init__(self, x_channels: int, g_channels: int, inter_channels: int,
                 norm_cfg: dict) -> None:
        super().__init__()
        self.w_x = ConvModule(x_channels, inter_channels, 1, bias=False,
                              norm_cfg=norm_cfg, act_cfg=None)
        self.w_g = ConvModule(g_channels, inter_channels, 1, bias=True,
                              norm_cfg=norm_cfg, act_cfg=None)
        self.psi = ConvModule(inter_channels, 1, 1, bias=True,
                              norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.psi(F.relu(self.w_x(x) + self.w_g(g))))
        return x * alpha


@MODELS.register_module()
class AttentionUNet(BaseModule):
    """U-Net with residual conv blocks and attention gates on the skips.

    The encoder halves the resolution ``num_stages - 1`` times (max-pool);
    each decoder level up-samples (bilinear + 3x3 conv), gates the encoder
    skip with :class:`AttentionGate` and fuses both with a
    :class:`ResConvBlock`. Like MMSeg's ``UNet``, ``forward`` returns the
    bottleneck followed by every decoder level, coarse to fine, so MMSeg
    heads take ``in_index=-1`` (full resolution) and the centroid branch
    ``in_index=0`` (the encoder's last stage, as in Fig. 7).

    Args:
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Channels of the first stage, doubled per stage.
        num_stages (int): Encoder stages (the paper's figure has 5).
        norm_cfg (dict): Normalisation layers. Defaults to BN.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 32,
                 num_stages: int = 5,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[Sequence[dict]] = (
                     dict(type='Kaiming', layer='Conv2d'),
                     dict(type='Constant', val=1, layer='_BatchNorm'))
                 ) -> None:
        super().__init__(init_cfg=list(init_cfg) if init_cfg else None)
        chans = [base_channels * 2**i for i in range(num_stages)]
        self.downsample_ratio = 2**(num_stages - 1)
        self.encoder = nn.ModuleList(
            ResConvBlock(c_in, c_out, norm_cfg)
            for c_in, c_out in zip([in_channels] + chans[:-1], chans))
        self.up_convs = nn.ModuleList(
            ConvModule(chans[i + 1], chans[i], 3, padding=1,
                       norm_cfg=norm_cfg) for i in range(num_stages - 1))
        self.gates = nn.ModuleList(
            AttentionGate(chans[i], chans[i], max(chans[i] // 2, 1),
                          norm_cfg) for i in range(num_stages - 1))
        self.decoder = nn.ModuleList(
            ResConvBlock(2 * chans[i], chans[i], norm_cfg)
            for i in range(num_stages - 1))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        h, w = x.shape[-2:]
        if h % self.downsample_ratio or w % self.downsample_ratio:
            raise ValueError(
                f'input size {h}x{w} is not divisible by '
                f'{self.downsample_ratio}: pad it (data preprocessor '
                f'size_divisor={self.downsample_ratio})')
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(F.max_pool2d(x, 2) if i else x)
            skips.append(x)
        outs = [x]
        for i in reversed(range(len(self.decoder))):
            skip = skips[i]
            g = self.up_convs[i](
                F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                              align_corners=False))
            x = self.decoder[i](torch.cat([self.gates[i](skip, g), g], 1))
            outs.append(x)
        return outs
