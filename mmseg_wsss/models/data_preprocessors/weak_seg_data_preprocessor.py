"""Data preprocessor that pads weak-annotation maps with the batch."""
from typing import Any, Dict

import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models import SegDataPreProcessor
from mmseg.registry import MODELS

#: fields MMSeg's ``stack_batch`` already pads
_PADDED_BY_MMSEG = ('gt_sem_seg', 'gt_edge_map', 'gt_depth_map')


@MODELS.register_module()
class WeakSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also pads every other ``PixelData``
    field of the samples (scribbles, points, pseudo labels, instance ids,
    the full mask) exactly as ``gt_sem_seg``: bottom/right, with
    ``seg_pad_val`` (0 for instance ids, which mean "no instance")."""

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        out = super().forward(data, training)
        if not training:
            return out
        for sample in out['data_samples']:
            padding = sample.metainfo['padding_size']
            if not any(padding):
                continue
            for name in list(sample.keys()):
                value = getattr(sample, name)
                if name in _PADDED_BY_MMSEG or not isinstance(
                        value, PixelData):
                    continue
                pad_val = 0 if name == 'gt_inst_seg' else self.seg_pad_val
                sample.set_field(
                    PixelData(data=F.pad(value.data, padding, value=pad_val)),
                    name)
        return out
