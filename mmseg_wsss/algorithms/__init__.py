"""Framework-free algorithms (no mmseg / torch imports here)."""
from .random_walk import (neighbour_offsets, path_affinities, path_pixels,
                          propagate, random_walk, strided_size,
                          transition_matrix, upsample_bilinear)
from .region_growing import (cam_seeds, grow_seeds, grow_seeds_batch,
                             seed_quality)
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'neighbour_offsets', 'path_affinities', 'path_pixels', 'propagate',
    'random_walk', 'strided_size', 'transition_matrix', 'upsample_bilinear',
    'cam_seeds', 'grow_seeds', 'grow_seeds_batch', 'seed_quality',
    'class_proportions', 'image_tags', 'simulate_points', 'simulate_scribbles'
]
