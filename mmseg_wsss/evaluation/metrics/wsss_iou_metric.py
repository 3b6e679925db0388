"""IoU metric with the Centroid Loss paper's summary scores."""
from typing import Dict, Sequence

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
    """

    def __init__(self,
                 iou_metrics: Sequence[str] = ('mIoU', 'mFscore'),
                 **kwargs) -> None:
        if 'mFscore' not in iou_metrics:
            raise ValueError("WSSSIoUMetric needs 'mFscore' in iou_metrics "
                             '(it provides precision and recall)')
        super().__init__(iou_metrics=list(iou_metrics), **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if not metrics:  # format_only
            return metrics
        prec, rec = metrics['mPrecision'], metrics['mRecall']
        metrics['F1'] = round(2 * prec * rec / (prec + rec), 2) \
            if prec + rec > 0 else 0.0
        return metrics
