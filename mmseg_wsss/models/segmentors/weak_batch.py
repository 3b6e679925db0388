"""A training batch as the weak losses and steps see it."""
from functools import cached_property
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor

from mmseg_wsss.datasets.annotations import PIXEL, get_annotation


class WeakBatch:
    """Features, logits, probabilities and targets of one training batch,
    each computed once, on first use.

    * ``seg_logits``: the decode head's output at its own resolution;
      ``logits``: upsampled (bilinear, the head's ``align_corners``) to the
      input size, where every weak target lives; ``probs`` /
      ``log_probs``: their softmax, or ``(1 - s, s)`` for one sigmoid map
      ``s``;
    * ``valid``: ``(N, H, W)`` True off the batch padding; ``rgb``: the
      un-normalised input image;
    * :meth:`get`: a named target - a registered annotation packed in the
      samples (pixel maps as ``(N, H, W)`` long, image-level ones stacked),
      or the output of a step (:mod:`mmseg_wsss.models.steps`), which runs
      when first asked for.

    Args:
        segmentor: The :class:`WSSSEncoderDecoder` being trained.
        inputs (Tensor): The batch's images.
        data_samples (list): Their samples (never modified).
        feats (list[Tensor]): The backbone (+ neck) features.
    """

    def __init__(self, segmentor, inputs: Tensor, data_samples: SampleList,
                 feats: List[Tensor]) -> None:
        self.segmentor = segmentor
        self.inputs = inputs
        self.data_samples = data_samples
        self.feats = feats
        self.ignore_index = segmentor.decode_head.ignore_index
        self.seg_logits = segmentor.decode_head.forward(feats)
        self._values: Dict[str, object] = {}
        self._producers = {
            name: step
            for step in segmentor.steps for name in step.outputs
        }

    @cached_property
    def logits(self) -> Tensor:
        return resize(self.seg_logits, size=self.inputs.shape[2:],
                      mode='bilinear',
                      align_corners=self.segmentor.align_corners)

    @cached_property
    def log_probs(self) -> Tensor:
        if self.logits.shape[1] == 1:
            return torch.cat(
                [F.logsigmoid(-self.logits), F.logsigmoid(self.logits)], 1)
        return F.log_softmax(self.logits, 1)

    @cached_property
    def probs(self) -> Tensor:
        if self.logits.shape[1] == 1:
            s = self.logits.sigmoid()
            return torch.cat([1 - s, s], 1)
        return self.logits.softmax(1)

    @cached_property
    def valid(self) -> Tensor:
        return self.segmentor.valid_mask(self.inputs, self.data_samples)

    @cached_property
    def rgb(self) -> Tensor:
        return self.segmentor.rgb(self.inputs)

    def get(self, name: str):
        """The target ``name``: a step's output or a packed annotation."""
        if name not in self._values:
            if name in self._producers:
                self._values.update(self._producers[name](self))
            else:
                self._values[name] = self._annotation(name)
        return self._values[name]

    def _annotation(self, name: str):
        kind = get_annotation(name)
        missing = [s.metainfo.get('sample_key', '?')
                   for s in self.data_samples if kind.field not in s]
        if missing:
            raise KeyError(
                f"a loss reads '{name}' but sample {missing[0]} has no "
                f"{kind.field}: load '{name}' with LoadWeakAnnotations")
        values = [s.get(kind.field) for s in self.data_samples]
        if kind.level != PIXEL:
            if isinstance(values[0], Tensor):
                return torch.stack(values).to(self.inputs.device)
            return values
        maps = torch.stack([v.data[0] for v in values])
        if maps.shape[-2:] != self.inputs.shape[-2:]:
            raise ValueError(
                f"'{name}' maps {tuple(maps.shape)} do not match the batch "
                f'{tuple(self.inputs.shape)}: use WeakSegDataPreProcessor, '
                'which pads them')
        return maps.to(self.inputs.device).long()
