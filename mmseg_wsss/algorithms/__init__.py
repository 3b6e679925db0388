"""Framework-free algorithms (no mmseg / torch imports here)."""
from .region_growing import (cam_seeds, grow_seeds, grow_seeds_batch,
                             seed_quality)
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'cam_seeds', 'grow_seeds', 'grow_seeds_batch', 'seed_quality',
    'class_proportions', 'image_tags', 'simulate_points', 'simulate_scribbles'
]
