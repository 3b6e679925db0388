"""EncoderDecoder with what the weakly-supervised methods share."""
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from mmseg_wsss.algorithms.crf import dense_crf_batch
from ..losses.functional import constrain_loss


@MODELS.register_module()
class WSSSEncoderDecoder(EncoderDecoder):
    """MMSeg's ``EncoderDecoder`` plus two options used by several methods.

    * ``test_cfg.crf``: ``True`` (the documented defaults of
      :func:`~mmseg_wsss.algorithms.crf.dense_crf`) or a dict of its
      arguments refines every predicted softmax with a dense CRF on the
      input image before the usual post-processing (the paper's §V-F
      post-processing); ``None``/``False``: off. From the command line:
      ``--cfg-options model.test_cfg.crf=True``.
    * ``constrain_weight`` (> 0 turns it on): SEC's constrain loss (eq. 13
      of the Centroid Loss paper, §3.2 of DSRG), the KL divergence between
      the network's softmax and its dense-CRF refinement; ``constrain_crf``
      gives the CRF arguments and ``constrain_size`` the (smaller) side the
      softmax is resized to for the CRF, as SEC does on its coarse output.

    Subclasses use :meth:`rgb` (the un-normalised input image) and
    :meth:`valid_mask` (pixels that are not batch padding).
    """

    def __init__(self,
                 *args,
                 constrain_weight: float = 0.0,
                 constrain_crf: Optional[dict] = None,
                 constrain_size: Optional[int] = 64,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.constrain_weight = constrain_weight
        self.constrain_crf = constrain_crf or {}
        self.constrain_size = constrain_size

    def rgb(self, inputs: Tensor) -> Tensor:
        """Un-normalised input image (N, 3, H, W) in [0, 255]."""
        pre = self.data_preprocessor
        if getattr(pre, '_enable_normalize', False):
            inputs = inputs * pre.std + pre.mean
        return inputs.clamp(0, 255)

    @staticmethod
    def valid_mask(inputs: Tensor, data_samples: SampleList) -> Tensor:
        """(N, H, W) bool: True where a pixel is not batch padding."""
        n, _, h, w = inputs.shape
        mask = inputs.new_zeros((n, h, w), dtype=torch.bool)
        for i, sample in enumerate(data_samples):
            img_h, img_w = sample.metainfo.get('img_shape', (h, w))[:2]
            mask[i, :img_h, :img_w] = True
        return mask

    def crf_probs(self, inputs: Tensor, probs: Tensor,
                  crf_cfg: dict) -> Tensor:
        """Dense-CRF marginals of ``probs`` (N, C, h, w) on ``inputs``
        (resized to h x w), as a tensor like ``probs``."""
        size = probs.shape[-2:]
        imgs = F.interpolate(self.rgb(inputs), size=size, mode='bilinear',
                             align_corners=False)
        imgs = imgs.round().byte().permute(0, 2, 3, 1).cpu().numpy()
        refined = dense_crf_batch(
            list(np.ascontiguousarray(imgs)),
            list(probs.detach().float().cpu().numpy()),
            num_workers=0, **crf_cfg)
        return torch.from_numpy(np.stack(refined)).to(probs)

    def constrain(self, inputs: Tensor, seg_logits: Tensor) -> Tensor:
        """``constrain_weight * KL(CRF(p) || p)`` on the softmax ``p``."""
        logits = seg_logits
        if self.constrain_size:
            scale = self.constrain_size / max(logits.shape[-2:])
            if scale < 1:
                logits = F.interpolate(logits, scale_factor=scale,
                                       mode='bilinear', align_corners=False)
        probs = logits.softmax(1)
        target = self.crf_probs(inputs, probs, self.constrain_crf)
        return self.constrain_weight * constrain_loss(probs, target)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """MMSeg's losses, plus the constrain loss when it is on."""
        if self.constrain_weight <= 0:
            return super().loss(inputs, data_samples)
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.forward(x)
        losses = self.head_losses(x, seg_logits, data_samples)
        losses['loss_constrain'] = self.constrain(inputs, seg_logits)
        return losses

    def head_losses(self, x: List[Tensor], seg_logits: Tensor,
                    data_samples: SampleList) -> dict:
        """Decode (and auxiliary) head losses from already computed logits,
        named as MMSeg names them."""
        losses = {
            f'decode.{k}': v
            for k, v in self.decode_head.loss_by_feat(
                seg_logits, data_samples).items()
        }
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """MMSeg's inference; with ``test_cfg.crf`` the softmax is refined by
        a dense CRF and returned as log-probabilities."""
        seg_logits = super().inference(inputs, batch_img_metas)
        crf_cfg = self.test_cfg.get('crf')
        if crf_cfg is None or crf_cfg is False:
            return seg_logits
        if crf_cfg is True:
            crf_cfg = {}
        elif not isinstance(crf_cfg, dict):
            raise TypeError('test_cfg.crf must be True, False, None or a dict '
                            f'of dense_crf arguments, got {crf_cfg!r}')
        probs = self.crf_probs(inputs, seg_logits.softmax(1), crf_cfg)
        return probs.clamp_min(1e-8).log()
