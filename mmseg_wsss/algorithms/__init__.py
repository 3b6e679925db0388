"""Framework-free algorithms (no mmseg / torch imports here)."""
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'class_proportions', 'image_tags', 'simulate_points', 'simulate_scribbles'
]
