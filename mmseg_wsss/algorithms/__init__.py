"""Framework-free algorithms (no mmseg / torch imports here).

The random walk of BES is imported from its module,
``mmseg_wsss.algorithms.random_walk``, whose main function has its name.
"""
from .bes import (PSEUDO_LABEL_CRF, BESLabels, BoundaryLabels,
                  bes_pseudo_labels, boundary_labels, cam_labels)
from .boundaries import (REGION_BG, REGION_BOUNDARY, REGION_FG, UNCERTAIN,
                         BoundaryCounts, BoundaryPRF, boundary_counts,
                         boundary_prf, gt_boundaries, prf_from_counts,
                         refine_localization_crf,
                         synthesize_boundary_labels,
                         synthesize_boundary_regions, threshold_localization)
from .quality import (LabelQuality, confusion_counts, miou_from_counts,
                      seed_quality, supervision_quality, weak_miou)
from .region_growing import cam_seeds, grow_seeds, grow_seeds_batch
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'PSEUDO_LABEL_CRF', 'BESLabels', 'BoundaryLabels', 'bes_pseudo_labels',
    'boundary_labels', 'cam_labels',
    'REGION_BG', 'REGION_BOUNDARY', 'REGION_FG', 'UNCERTAIN',
    'BoundaryCounts', 'BoundaryPRF', 'boundary_counts', 'boundary_prf',
    'gt_boundaries', 'prf_from_counts', 'refine_localization_crf',
    'synthesize_boundary_labels', 'synthesize_boundary_regions',
    'threshold_localization', 'LabelQuality', 'confusion_counts',
    'miou_from_counts', 'seed_quality', 'supervision_quality', 'weak_miou',
    'cam_seeds', 'grow_seeds', 'grow_seeds_batch', 'class_proportions',
    'image_tags', 'simulate_points', 'simulate_scribbles'
]
