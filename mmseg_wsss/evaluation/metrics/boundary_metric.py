"""Boundary precision / recall / F of a one-channel boundary model (BES)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from mmseg_wsss.algorithms.boundaries import (BoundaryCounts,
                                              boundary_counts,
                                              prf_from_counts)


@METRICS.register_module()
class BoundaryMetric(BaseMetric):
    """Dataset-level boundary precision, recall and F of predicted boundary
    maps against the class-agnostic edges of the full masks (BES Sec. 4.3,
    Fig. 4; :func:`~mmseg_wsss.algorithms.boundaries.boundary_counts`).

    Each data sample needs ``seg_logits`` ``(1, H, W)``: the boundary
    probability of a one-channel model at the original image size. An MMSeg
    decode head with ``out_channels=1`` gives exactly that: MMSeg's
    ``BaseSegmentor.postprocess_result`` resizes its output to the image
    and replaces it by its sigmoid (and sets ``pred_sem_seg`` to
    ``sigmoid > decode_head.threshold``). ``from_logits=True`` applies the
    sigmoid here, for models that store raw logits. ``gt_sem_seg``
    ``(1, H, W)``: the full mask. A pixel is a predicted boundary where the
    probability is ``> threshold`` (MMSeg's rule for ``pred_sem_seg``, so
    with ``threshold = decode_head.threshold`` the scored pixels are those
    of ``pred_sem_seg``).

    Counts are pooled over the dataset before the ratios are taken (the
    BSDS "optimal dataset scale" aggregation at one threshold). Reports
    ``BoundaryPrecision``, ``BoundaryRecall`` and ``BoundaryF`` in percent
    (2 decimals); an undefined ratio is 0 (see
    :func:`~mmseg_wsss.algorithms.boundaries.prf_from_counts`).

    Args:
        tolerance (float): matching distance in pixels (Euclidean).
        threshold (float): a boundary pixel has probability above it.
        ignore_index (int): unlabelled value of the masks.
        from_logits (bool): apply a sigmoid to ``seg_logits`` (False: MMSeg
            already did).
    """

    def __init__(self,
                 tolerance: float = 2,
                 threshold: float = 0.5,
                 ignore_index: int = 255,
                 from_logits: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if tolerance < 0:
            raise ValueError(f'tolerance {tolerance} < 0')
        self.tolerance = tolerance
        self.threshold = threshold
        self.ignore_index = ignore_index
        self.from_logits = from_logits

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            logits = sample['seg_logits']['data']
            if logits.ndim != 3 or logits.shape[0] != 1:
                raise ValueError('BoundaryMetric needs one-channel '
                                 f'seg_logits (1, H, W), got '
                                 f'{tuple(logits.shape)}')
            prob = logits.float().sigmoid() if self.from_logits else logits
            gt = sample['gt_sem_seg']['data']
            if gt.ndim == 3:
                gt = gt[0]
            if tuple(gt.shape) != tuple(prob.shape[1:]):
                raise ValueError(f'seg_logits {tuple(logits.shape)} and '
                                 f'gt_sem_seg {tuple(gt.shape)} differ in '
                                 'size')
            counts = boundary_counts(
                _numpy(prob[0]), _numpy(gt), self.tolerance, self.threshold,
                self.ignore_index)
            self.results.append(counts)

    def compute_metrics(self, results: List[BoundaryCounts]
                        ) -> Dict[str, float]:
        p, r, f = prf_from_counts(sum(results, BoundaryCounts()))
        return dict(BoundaryPrecision=round(p * 100, 2),
                    BoundaryRecall=round(r * 100, 2),
                    BoundaryF=round(f * 100, 2))


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) \
        else np.asarray(x)
