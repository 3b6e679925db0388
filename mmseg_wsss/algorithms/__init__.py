"""Framework-free algorithms (no mmseg / torch imports here)."""
from .boundaries import (REGION_BG, REGION_BOUNDARY, REGION_FG, UNCERTAIN,
                         BoundaryCounts, BoundaryPRF, boundary_counts,
                         boundary_prf, gt_boundaries, prf_from_counts,
                         refine_localization_crf,
                         synthesize_boundary_labels,
                         synthesize_boundary_regions, threshold_localization)
from .region_growing import (cam_seeds, grow_seeds, grow_seeds_batch,
                             seed_quality)
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'REGION_BG', 'REGION_BOUNDARY', 'REGION_FG', 'UNCERTAIN',
    'BoundaryCounts', 'BoundaryPRF', 'boundary_counts', 'boundary_prf',
    'gt_boundaries', 'prf_from_counts', 'refine_localization_crf',
    'synthesize_boundary_labels', 'synthesize_boundary_regions',
    'threshold_localization',
    'cam_seeds', 'grow_seeds', 'grow_seeds_batch', 'seed_quality',
    'class_proportions', 'image_tags', 'simulate_points', 'simulate_scribbles'
]
