"""Framework-free algorithms (no mmseg / torch imports here)."""
from .quality import (LabelQuality, confusion_counts, miou_from_counts,
                      seed_quality, supervision_quality, weak_miou)
from .region_growing import cam_seeds, grow_seeds, grow_seeds_batch
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'LabelQuality', 'confusion_counts', 'miou_from_counts', 'seed_quality',
    'supervision_quality', 'weak_miou', 'cam_seeds', 'grow_seeds',
    'grow_seeds_batch', 'class_proportions', 'image_tags', 'simulate_points',
    'simulate_scribbles'
]
