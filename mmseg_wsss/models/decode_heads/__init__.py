from .benet_head import BENetHead
from .cam_head import CAMHead
from .centroid_head import CentroidHead

__all__ = ['BENetHead', 'CAMHead', 'CentroidHead']
