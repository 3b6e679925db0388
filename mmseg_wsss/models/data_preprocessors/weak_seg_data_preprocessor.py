"""Data preprocessor that pads weak-annotation maps with the batch."""
from typing import Any, Dict

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models import SegDataPreProcessor
from mmseg.registry import MODELS

from mmseg_wsss.datasets.annotations import PIXEL, annotations_of


@MODELS.register_module()
class WeakSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also pads every registered pixel
    annotation of the samples (scribbles, points, pseudo labels, instance
    ids, the full mask; :mod:`mmseg_wsss.datasets.annotations`) exactly as
    ``gt_sem_seg``: bottom/right, with the kind's ``pad_value``
    (``seg_pad_val`` by default; 0 for instance ids, "no instance").

    Args:
        channels_last (bool): Give the network its input batch in the
            channels-last memory format, which convolutions then keep: the
            same values, a faster layout for CPU (oneDNN) and tensor-core
            kernels (measured here: a Centroid-recipe training step 0.52 s
            -> 0.39 s on 2 CPU cores, ``bench/bench_profile.py``).
            Defaults to False, as MMSeg.
        **kwargs: ``SegDataPreProcessor``'s.
    """

    def __init__(self, *args, channels_last: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        out = super().forward(data, training)
        if self.channels_last:
            out['inputs'] = out['inputs'].contiguous(
                memory_format=torch.channels_last)
        if not training:
            return out
        for sample in out['data_samples']:
            padding = sample.metainfo['padding_size']
            if not any(padding):
                continue
            for kind in annotations_of(PIXEL):
                if kind.field not in sample:
                    continue
                pad_val = (self.seg_pad_val if kind.pad_value is None else
                           kind.pad_value)
                sample.set_field(
                    PixelData(data=F.pad(
                        sample.get(kind.field).data, padding, value=pad_val)),
                    kind.field)
        return out
