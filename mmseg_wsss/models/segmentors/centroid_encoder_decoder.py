"""The Centroid Loss method (000_6542ad29b69e8cd0, §IV)."""
from typing import List

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..losses.functional import (centroid_distances, centroid_loss,
                                 centroid_mse_loss)
from .wsss_encoder_decoder import WSSSEncoderDecoder

FEATURE_SPACES = ('softmax', 'softmax_nrgb')


@MODELS.register_module()
class CentroidEncoderDecoder(WSSSEncoderDecoder):
    """Segmentor trained with ``L = L_pCE + λcen L_cen + λmse L_mse``
    (eq. 7) on any MMSeg backbone and decode head.

    * ``L_pCE`` (eq. 2) is the decode head's own loss on ``gt_sem_seg`` -
      the superpixel pseudo-masks (``PackWeakSegInputs(target='pseudo')``)
      or the scribbles - with ``CrossEntropyLoss(avg_non_ignore=True)``.
    * ``centroid_head`` (:class:`CentroidHead`) predicts C centroids of
      dimension M from the backbone; the pixel features ``f_p`` are the
      decode head's softmax (``feature_space='softmax'``, M = C, "N") or
      softmax + normalised RGB (``'softmax_nrgb'``, M = C + 3, eq. 14).
    * ``L_cen`` (eq. 3-5) is a cross-entropy of the softmax of the negative
      normalised distances to the centroids on scribble pixels
      (``gt_scribble``); ``L_mse`` (eq. 6) the mean normalised distance of
      every (non-padding) pixel to the centroid of its predicted class.
    * ``test_cfg.output``: ``'seg'`` (segmentation output) or ``'cluster'``
      (each pixel takes the class of its nearest predicted centroid, §V-B).
      ``test_cfg.crf`` adds dense-CRF post-processing (§V-F).

    The paper's groups: G1 (pCE only) is a plain :class:`WSSSEncoderDecoder`,
    G2 is ``lambda_mse=0``, G3 uses both terms (defaults 1, as in §V-A).
    """

    def __init__(self,
                 *args,
                 centroid_head: dict,
                 feature_space: str = 'softmax',
                 lambda_cen: float = 1.0,
                 lambda_mse: float = 1.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if feature_space not in FEATURE_SPACES:
            raise ValueError(f'feature_space must be one of {FEATURE_SPACES}'
                             f', got {feature_space!r}')
        num_classes = self.decode_head.num_classes
        feat_dim = num_classes + 3 * (feature_space == 'softmax_nrgb')
        centroid_head = dict(centroid_head)
        centroid_head.setdefault('num_classes', num_classes)
        centroid_head.setdefault('feat_dim', feat_dim)
        if (centroid_head['num_classes'], centroid_head['feat_dim']) != (
                num_classes, feat_dim):
            raise ValueError(
                f'centroid_head must predict {num_classes}x{feat_dim} '
                f'centroids for feature_space={feature_space!r}')
        self.centroid_head = MODELS.build(centroid_head)
        self.feature_space = feature_space
        self.lambda_cen, self.lambda_mse = lambda_cen, lambda_mse

    def pixel_features(self, probs: Tensor, inputs: Tensor) -> Tensor:
        """``f_p``: softmax (N, C, H, W), with normalised RGB (eq. 14)
        appended for ``'softmax_nrgb'``."""
        if self.feature_space == 'softmax':
            return probs
        rgb = self.rgb(inputs)
        nrgb = rgb / rgb.sum(1, keepdim=True).clamp_min(1e-6)
        return torch.cat([probs, nrgb.to(probs)], dim=1)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Eq. (7), plus the constrain loss if configured."""
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.forward(x)
        losses = self.head_losses(x, seg_logits, data_samples)
        if self.constrain_weight > 0:
            losses['loss_constrain'] = self.constrain(inputs, seg_logits)
        if not (self.lambda_cen or self.lambda_mse):
            return losses
        logits = F.interpolate(seg_logits, size=inputs.shape[-2:],
                               mode='bilinear',
                               align_corners=self.align_corners)
        feats = self.pixel_features(logits.softmax(1), inputs)
        centroids = self.centroid_head(x)
        if self.lambda_cen:
            scribbles = torch.stack(
                [s.gt_scribble.data[0] for s in data_samples]).long()
            losses['loss_cen'] = self.lambda_cen * centroid_loss(
                feats, centroids, scribbles)
        if self.lambda_mse:
            losses['loss_mse'] = self.lambda_mse * centroid_mse_loss(
                feats, centroids, logits, self.valid_mask(inputs,
                                                          data_samples))
        return losses

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Segmentation logits, or for ``test_cfg.output='cluster'`` the
        negative normalised centroid distances (arg-max = nearest
        centroid)."""
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.predict(x, batch_img_metas,
                                              self.test_cfg)
        if self.test_cfg.get('output', 'seg') == 'seg':
            return seg_logits
        feats = self.pixel_features(seg_logits.softmax(1), inputs)
        return -centroid_distances(feats, self.centroid_head(x))
