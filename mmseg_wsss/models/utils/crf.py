"""Dense CRF on batched tensors (a thin wrapper of
:func:`mmseg_wsss.algorithms.crf.dense_crf_batch`)."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg_wsss.algorithms.crf import dense_crf_batch


def crf_probs(rgb: Tensor, probs: Tensor, crf_cfg: dict) -> Tensor:
    """Dense-CRF marginals of ``probs`` (N, C, h, w) on the images ``rgb``
    (N, 3, H, W in [0, 255], resized to h x w), as a tensor like ``probs``
    (no gradient)."""
    size = probs.shape[-2:]
    imgs = F.interpolate(rgb, size=size, mode='bilinear', align_corners=False)
    imgs = imgs.round().byte().permute(0, 2, 3, 1).cpu().numpy()
    refined = dense_crf_batch(
        list(np.ascontiguousarray(imgs)),
        list(probs.detach().float().cpu().numpy()),
        num_workers=0, **crf_cfg)
    return torch.from_numpy(np.stack(refined)).to(probs)
