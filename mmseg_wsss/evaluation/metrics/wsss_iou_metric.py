"""IoU metric with the Centroid Loss paper's summary scores."""
from typing import Dict, Sequence

import numpy as np

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class WSSSIoUMetric(IoUMetric):
    """MMSeg's ``IoUMetric`` reporting mIoU, mPrecision, mRecall and F1.

    mIoU, mean precision and mean recall are macro averages over classes
    (eq. 8-10 of the Centroid Loss paper, computed by MMSeg's machinery);
    ``F1`` is the harmonic mean of mPrecision and mRecall (eq. 11), which
    differs from MMSeg's ``mFscore`` (the mean of per-class F-scores, also
    reported). All values are percentages.

    Args:
        classwise (bool): Also return every per-class score MMSeg logs in
            its class table, as ``'<score>.<class>'`` (e.g. ``'IoU.road'``,
            ``'Fscore.road'`` - the per-class F1 of the SPSS paper's tables -
            and ``'Acc.road'``), so that they reach the test JSON.
    """

    def __init__(self,
                 iou_metrics: Sequence[str] = ('mIoU', 'mFscore'),
                 classwise: bool = False,
                 **kwargs) -> None:
        if 'mFscore' not in iou_metrics:
            raise ValueError("WSSSIoUMetric needs 'mFscore' in iou_metrics "
                             '(it provides precision and recall)')
        super().__init__(iou_metrics=list(iou_metrics), **kwargs)
        self.classwise = classwise

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if not metrics:  # format_only
            return metrics
        prec, rec = metrics['mPrecision'], metrics['mRecall']
        metrics['F1'] = round(2 * prec * rec / (prec + rec), 2) \
            if prec + rec > 0 else 0.0
        if self.classwise:
            areas = [sum(r[i] for r in results) for i in range(4)]
            per_class = self.total_area_to_metrics(
                *areas, self.metrics, self.nan_to_num, self.beta)
            per_class.pop('aAcc', None)
            for score, values in per_class.items():
                for name, value in zip(self.dataset_meta['classes'],
                                       np.asarray(values)):
                    metrics[f'{score}.{name}'] = round(float(value) * 100, 2)
        return metrics
