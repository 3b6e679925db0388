"""The centroid branch of the Centroid Loss method (000_6542ad29b69e8cd0,
§IV-B)."""
from typing import Dict, List, Optional

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ..losses.functional import centroid_distances
from .base import WeakStep

FEATURE_SPACES = ('softmax', 'softmax_nrgb')


@MODELS.register_module()
class CentroidBranch(WeakStep):
    """Class centroids predicted by ``head`` (:class:`CentroidHead`) from
    the backbone, and the pixel features ``f_p`` they live with: the decode
    head's softmax at the input size (``feature_space='softmax'``, M = C,
    "N") or softmax + normalised RGB (``'softmax_nrgb'``, M = C + 3,
    eq. 14).

    Training outputs ``'features'`` ``(N, M, H, W)`` and ``'centroids'``
    ``(N, C, M)`` for :class:`CentroidLoss` / :class:`CentroidMSELoss`.
    ``test_cfg.output='cluster'`` labels each pixel with its nearest
    predicted centroid (§V-B): the returned logits are the negative
    normalised distances of eq. (5).

    Args:
        head (dict): The :class:`CentroidHead`; ``num_classes`` and
            ``feat_dim`` default to the decode head's and the feature
            space's.
        feature_space (str): ``'softmax'`` or ``'softmax_nrgb'``.
    """
    outputs = ('features', 'centroids')
    test_outputs = ('cluster', )

    def __init__(self, head: dict, feature_space: str = 'softmax') -> None:
        super().__init__()
        if feature_space not in FEATURE_SPACES:
            raise ValueError(f'feature_space must be one of {FEATURE_SPACES}'
                             f', got {feature_space!r}')
        self.head_cfg = dict(head)
        self.feature_space = feature_space
        self.head: Optional[torch.nn.Module] = None

    def bind(self, segmentor) -> None:
        num_classes = segmentor.decode_head.num_classes
        feat_dim = num_classes + 3 * (self.feature_space == 'softmax_nrgb')
        cfg = dict(self.head_cfg)
        cfg.setdefault('num_classes', num_classes)
        cfg.setdefault('feat_dim', feat_dim)
        if (cfg['num_classes'], cfg['feat_dim']) != (num_classes, feat_dim):
            raise ValueError(
                f'the centroid head must predict {num_classes}x{feat_dim} '
                f'centroids for feature_space={self.feature_space!r}')
        self.head = MODELS.build(cfg)

    def pixel_features(self, probs: Tensor, rgb: Tensor) -> Tensor:
        """``f_p``: the softmax, with normalised RGB (eq. 14) appended for
        ``'softmax_nrgb'``."""
        if self.feature_space == 'softmax':
            return probs
        nrgb = rgb / rgb.sum(1, keepdim=True).clamp_min(1e-6)
        return torch.cat([probs, nrgb.to(probs)], dim=1)

    def forward(self, batch) -> Dict[str, Tensor]:
        return dict(
            features=self.pixel_features(batch.probs, batch.rgb),
            centroids=self.head(batch.feats))

    def predict(self, output: str, feats: List[Tensor], rgb: Tensor,
                seg_logits: Tensor) -> Tensor:
        features = self.pixel_features(seg_logits.softmax(1), rgb)
        return -centroid_distances(features, self.head(feats))
