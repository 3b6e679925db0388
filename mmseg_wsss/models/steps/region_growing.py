"""Online seeded region growing of DSRG (001_3db5c5196e8e9aa2, §3.3)."""
from typing import Dict, Optional

import torch
from mmseg.registry import MODELS
from torch import Tensor

from mmseg_wsss.algorithms.region_growing import grow_seeds_batch
from .base import WeakStep


@MODELS.register_module()
class SeededRegionGrowing(WeakStep):
    """``DSRG(S, H)``: the seeds ``S`` (annotation ``seeds``, 255 =
    unlabelled) grown into the pixels whose segmentation probability ``H``
    (the head's softmax at the input resolution, detached) passes eq. (3)'s
    criterion - ``theta_fg`` / ``theta_bg`` (the paper's 0.85 / 0.99) - for
    the image's tags only;
    :func:`~mmseg_wsss.algorithms.region_growing.grow_seeds_batch`. Batch
    padding can neither be labelled nor connect regions.

    The output is brought to the seeds rather than the seeds to the output
    (the authors' code shrinks the cues to the 41x41 output), so thin or
    small seeds are not lost to a stride-8 subsampling and the supervision
    is directly comparable with full masks.

    Produces ``output`` (``(N, H, W)`` long labels), read by e.g.
    ``BalancedSeedLoss(target='grown')``.

    Args:
        seeds (str): Annotation holding the seeds. Defaults to 'pseudo'.
        tags (str): Annotation holding the image tags. Defaults to 'tags'.
        output (str): Name of the grown labels. Defaults to 'grown'.
        theta_fg, theta_bg (float): ``theta_f`` and ``theta_b`` of eq. (3).
        bg_index (int, optional): The background class, or ``None``.
    """

    def __init__(self,
                 seeds: str = 'pseudo',
                 tags: str = 'tags',
                 output: str = 'grown',
                 theta_fg: float = 0.85,
                 theta_bg: float = 0.99,
                 bg_index: Optional[int] = 0) -> None:
        super().__init__()
        self.seeds, self.tags = seeds, tags
        self.outputs = (output, )
        self.theta_fg, self.theta_bg = theta_fg, theta_bg
        self.bg_index = bg_index

    def bind(self, segmentor) -> None:
        if segmentor.decode_head.out_channels < 2:
            raise ValueError('SeededRegionGrowing needs a softmax decode head '
                             '(out_channels = num_classes >= 2)')

    def forward(self, batch) -> Dict[str, Tensor]:
        seeds = batch.get(self.seeds)
        tags = [t.nonzero().flatten().tolist() for t in batch.get(self.tags)]
        # padding: a probability below any threshold, never grown into
        h_map = batch.probs.detach().masked_fill(~batch.valid[:, None], -1.0)
        grown = grow_seeds_batch(
            h_map.float().cpu().numpy(), seeds.cpu().numpy(), tags,
            theta_fg=self.theta_fg, theta_bg=self.theta_bg,
            bg_index=self.bg_index, ignore_index=batch.ignore_index)
        return {self.outputs[0]: torch.from_numpy(grown).to(seeds.device)}
