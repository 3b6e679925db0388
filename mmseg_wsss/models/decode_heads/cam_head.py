"""Multi-label classification head whose class maps are CAMs (DSRG §3.1,
BES §3.2)."""
from typing import List, Optional, Sequence, Union

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ..utils.cam import cam_maps, grad_cam


@MODELS.register_module()
class CAMHead(BaseDecodeHead):
    """A 1x1 conv classifier on backbone features: per-class maps ``M^c``
    (``forward``), pooled into image-level scores ``s^c`` trained with a
    multi-label sigmoid BCE against ``gt_tags``.

    Pooling (``pooling``):

    * ``'gap'``: global average pooling, the CAM network of DSRG §3.1
      (a GAP + fully connected classifier, here a 1x1 conv applied before
      the average, which is the same linear map);
    * ``'attention'``: BES attention pooling, eqs. (6)-(7),
      ``s^c = sum_i M^c_i A^c_i`` with ``A^c = softmax_i(k M^c_i)``
      (``k`` -> 0: GAP, ``k`` -> inf: max pooling; the paper uses
      ``k = 1e-3``).

    Batch padding (``padding_size`` set by the data preprocessor) is left
    out of both poolings in training.

    ``bg_index`` is left out of the classification: DSRG classifies the
    foreground classes only (its background cue comes from elsewhere), so
    that class's tag and channel get no loss. ``None`` classifies every
    class (datasets without a background class, e.g. CamVid).

    ``predict`` returns the non-negative localisation maps at the input
    size (``test_cfg.cam``): ``'cam'`` (default), the bias-free classifier
    on the features through a ReLU (Zhou et al.), or ``'gradcam'``; see
    :mod:`mmseg_wsss.models.utils.cam`. They are not normalised: the
    segmentor (:class:`CAMClassifier`) normalises them per image (eq. 8)
    once padding is removed.

    Args:
        in_channels (int | Sequence[int]): As ``BaseDecodeHead``; the
            classifier's input width (no conv before it), summed for
            ``input_transform='resize_concat'``.
        pooling (str): ``'gap'`` or ``'attention'``.
        k (float): Attention intensity of eq. (7).
        bg_index (int, optional): Class not classified. Defaults to 0.
        loss_decode (dict): Defaults to MMSeg's ``CrossEntropyLoss(
            use_sigmoid=True, avg_non_ignore=True, loss_name='loss_cls')``,
            i.e. BCE with logits averaged over images and classes.
        **kwargs: ``BaseDecodeHead``'s (``num_classes``, ``in_index``,
            ``dropout_ratio``, ...).
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 pooling: str = 'gap',
                 k: float = 1e-3,
                 bg_index: Optional[int] = 0,
                 loss_decode: Optional[dict] = None,
                 **kwargs) -> None:
        if pooling not in ('gap', 'attention'):
            raise ValueError(f"pooling must be 'gap' or 'attention', got "
                             f'{pooling!r}')
        if kwargs.get('input_transform') == 'multiple_select':
            raise ValueError('CAMHead classifies one feature map: use '
                             "input_transform=None or 'resize_concat'")
        channels = (sum(in_channels) if isinstance(in_channels, (list, tuple))
                    else in_channels)
        super().__init__(
            in_channels, channels,
            loss_decode=loss_decode or dict(
                type='CrossEntropyLoss', use_sigmoid=True,
                avg_non_ignore=True, loss_name='loss_cls'),
            **kwargs)
        if self.out_channels != self.num_classes:
            raise ValueError('CAMHead needs one map per class '
                             '(out_channels = num_classes)')
        if bg_index is not None and not 0 <= bg_index < self.num_classes:
            raise ValueError(f'bg_index {bg_index} not in [0, '
                             f'{self.num_classes})')
        self.pooling, self.k, self.bg_index = pooling, k, bg_index
        self.classified = [
            c for c in range(self.num_classes) if c != bg_index
        ]

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Class maps ``M`` ``(N, C, h, w)`` (classifier with its bias)."""
        return self.cls_seg(self._transform_inputs(inputs))

    def pool(self, maps: Tensor, valid: Optional[Tensor] = None) -> Tensor:
        """Image-level scores ``(N, C)`` from ``maps`` ``(N, C, h, w)``,
        over the positions where ``valid`` ``(N, h, w)`` (default: all)."""
        flat = maps.flatten(2)
        if self.pooling == 'attention':  # eq. (7)
            logits = self.k * flat
            if valid is not None:
                logits = logits.masked_fill(~valid.flatten(1)[:, None],
                                            float('-inf'))
            weights = logits.softmax(-1)
        elif valid is None:
            return flat.mean(-1)
        else:
            weights = valid.flatten(1)[:, None].to(flat)
            weights = weights / weights.sum(-1, keepdim=True)
        return (flat * weights).sum(-1)  # eq. (6)

    @staticmethod
    def valid_mask(batch_data_samples: SampleList,
                   size: Sequence[int]) -> Optional[Tensor]:
        """``(N, h, w)`` bool at feature size ``size``: the cells that
        overlap the image rather than the batch padding (from the
        preprocessor's ``padding_size``); ``None`` when nothing is
        padded."""
        metas = [s.metainfo for s in batch_data_samples]
        pads = torch.tensor([m.get('padding_size', [0] * 4) for m in metas])
        if not pads.any():
            return None
        hw = torch.tensor([list(m['img_shape'][:2]) for m in metas])
        left, right, top, bottom = pads.T
        full_h = (hw[:, 0] + top + bottom)[:, None]
        full_w = (hw[:, 1] + left + right)[:, None]
        h, w = size
        ys, xs = torch.arange(h), torch.arange(w)
        # cell i covers input rows [i H/h, (i + 1) H/h)
        rows = ((ys + 1) * full_h > top[:, None] * h) & (
            ys * full_h < (full_h - bottom[:, None]) * h)
        cols = ((xs + 1) * full_w > left[:, None] * w) & (
            xs * full_w < (full_w - right[:, None]) * w)
        return rows[:, :, None] & cols[:, None, :]

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> dict:
        """Multi-label classification loss of the pooled scores against
        ``gt_tags`` (the classes other than ``bg_index``)."""
        missing = [s.metainfo.get('sample_key') for s in batch_data_samples
                   if 'gt_tags' not in s]
        if missing:
            raise KeyError(f'samples {missing} have no gt_tags: add '
                           "'tags' to LoadWeakAnnotations")
        valid = self.valid_mask(batch_data_samples, seg_logits.shape[2:])
        if valid is not None:
            valid = valid.to(seg_logits.device)
        scores = self.pool(seg_logits, valid)[:, self.classified]
        target = torch.stack([s.gt_tags for s in batch_data_samples]).to(
            scores)[:, self.classified]
        if scores.shape[1] == 1:  # MMSeg's BCE squeezes a single column
            target = target[:, 0]
        losses_decode = (self.loss_decode if isinstance(
            self.loss_decode, torch.nn.ModuleList) else [self.loss_decode])
        loss = {}
        for loss_decode in losses_decode:
            value = loss_decode(scores, target)
            name = loss_decode.loss_name
            loss[name] = loss[name] + value if name in loss else value
        return loss

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Non-negative localisation maps ``(N, C, H, W)`` at the input
        size: CAM, or Grad-CAM of the pooled scores when
        ``test_cfg.cam == 'gradcam'``."""
        feat = self._transform_inputs(inputs)
        if test_cfg.get('cam', 'cam') == 'gradcam':
            with torch.enable_grad():
                feat = feat.detach().requires_grad_()
                cams = grad_cam(self.pool(self.cls_seg(feat)), feat)
        else:
            cams = cam_maps(feat, self.conv_seg.weight)
        return self.predict_by_feat(cams, batch_img_metas)
