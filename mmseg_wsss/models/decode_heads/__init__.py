from .benet_head import BENetHead
from .cam_head import CAMHead
from .centroid_head import CentroidHead
from .instance_crf_head import InstanceCRFHead

__all__ = ['BENetHead', 'CAMHead', 'CentroidHead', 'InstanceCRFHead']
