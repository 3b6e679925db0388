"""Semantic-proportion supervision: SPSS and SPSS+ (002_37db202babd11992)."""
import torch
import torch.nn.functional as F
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..losses.proportion_losses import (keypoint_bce_loss, masked_gap,
                                        proportion_loss)
from .wsss_encoder_decoder import WSSSEncoderDecoder


@MODELS.register_module()
class SPSSEncoderDecoder(WSSSEncoderDecoder):
    """Segmentor trained from per-image class proportions (§2.1, Fig. 2)
    and, optionally, a few keypoints (SPSS+, §2.2, Fig. 3), on any MMSeg
    backbone and decode head.

    The decode head's class maps, upsampled to the input size, become
    probabilities - a softmax over ``C >= 2`` channels, or one sigmoid map
    for a binary head (``out_channels=1``, as the paper's EM model) - and a
    GAP over each image's non-padding pixels gives the predicted
    proportions ``rho_i``, trained against ``gt_proportions`` with ``L_sp``
    (eq. 1; for a sigmoid map only the foreground proportion is compared).
    With ``alpha < 1`` the loss is ``alpha L_sp + (1 - alpha) L_sk`` (eq. 4)
    where ``L_sk`` is the keypoint BCE of eqs. (2)-(3) on ``gt_points``.
    At test time the class maps are the segmentation: MMSeg's usual
    inference (arg-max, or ``threshold`` for one sigmoid map).

    The decode head's own ``loss_decode`` is not used. Data: load
    ``'proportions'`` (and ``'points'`` for SPSS+) with
    :class:`LoadWeakAnnotations` and pack with ``target=None``; crops must
    carry their own proportions (see ``tools/dataset/tile_dataset.py``).

    Args:
        alpha (float): Weight of ``L_sp`` in eq. (4); 1 is SPSS.
    """

    def __init__(self, *args, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if self.with_auxiliary_head:
            raise ValueError('SPSSEncoderDecoder trains the decode head '
                             'only; remove auxiliary_head')
        if self.constrain_weight > 0 and self.decode_head.out_channels == 1:
            raise ValueError('the constrain loss needs a softmax head '
                             '(out_channels = num_classes)')
        self.alpha = alpha

    def class_log_probs(self, seg_logits: Tensor) -> Tensor:
        """(N, C, H, W) log-probabilities of every class: log-softmax, or
        ``(log(1 - s), log(s))`` for a single sigmoid map ``s``."""
        if seg_logits.shape[1] == 1:
            return torch.cat(
                [F.logsigmoid(-seg_logits), F.logsigmoid(seg_logits)], 1)
        return F.log_softmax(seg_logits, 1)

    @staticmethod
    def _require(data_samples: SampleList, field: str, name: str) -> None:
        for sample in data_samples:
            if field not in sample:
                raise KeyError(
                    f'sample {sample.metainfo.get("sample_key")} has no '
                    f"{field}: add '{name}' to LoadWeakAnnotations")

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """``alpha L_sp + (1 - alpha) L_sk`` (+ the constrain loss if on)."""
        x = self.extract_feat(inputs)
        raw_logits = self.decode_head.forward(x)
        seg_logits = resize(raw_logits, size=inputs.shape[2:],
                            mode='bilinear',
                            align_corners=self.align_corners)
        log_probs = self.class_log_probs(seg_logits)
        self._require(data_samples, 'gt_proportions', 'proportions')
        valid = self.valid_mask(inputs, data_samples)
        pred = masked_gap(log_probs.exp(), valid)
        target = torch.stack(
            [s.gt_proportions for s in data_samples]).to(pred)
        if seg_logits.shape[1] == 1:
            pred, target = pred[:, 1:], target[:, 1:]
        losses = {'loss_sp': self.alpha * proportion_loss(pred, target)}
        if self.alpha < 1:
            self._require(data_samples, 'gt_points', 'points')
            points = torch.stack(
                [s.gt_points.data[0] for s in data_samples]).to(inputs.device)
            losses['loss_sk'] = (1 - self.alpha) * keypoint_bce_loss(
                log_probs, points, self.decode_head.ignore_index)
        if self.constrain_weight > 0:
            losses['loss_constrain'] = self.constrain(inputs, raw_logits)
        return losses
