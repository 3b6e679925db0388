from .centroid_head import CentroidHead

__all__ = ['CentroidHead']
