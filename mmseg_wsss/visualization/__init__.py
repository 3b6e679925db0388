from .overlay import (labels_panel, overlay_cams, overlay_labels,
                      panoptic_panel, save_overlay, segment_colours)

__all__ = [
    'labels_panel', 'overlay_cams', 'overlay_labels', 'panoptic_panel',
    'save_overlay', 'segment_colours'
]
