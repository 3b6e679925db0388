from .boundary_metric import BoundaryMetric
from .wsss_iou_metric import WSSSIoUMetric

__all__ = ['BoundaryMetric', 'WSSSIoUMetric']
