from .base import WeakStep
from .centroid_branch import CentroidBranch
from .region_growing import SeededRegionGrowing

__all__ = ['CentroidBranch', 'SeededRegionGrowing', 'WeakStep']
