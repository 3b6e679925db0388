from .boundary_metric import BoundaryMetric
from .panoptic_metric import InstanceAPMetric, PanopticQualityMetric
from .wsss_iou_metric import WSSSIoUMetric

__all__ = [
    'BoundaryMetric', 'InstanceAPMetric', 'PanopticQualityMetric',
    'WSSSIoUMetric'
]
