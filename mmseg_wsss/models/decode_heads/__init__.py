from .cam_head import CAMHead
from .centroid_head import CentroidHead

__all__ = ['CAMHead', 'CentroidHead']
