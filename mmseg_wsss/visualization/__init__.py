from .overlay import labels_panel, overlay_cams, overlay_labels, save_overlay

__all__ = ['labels_panel', 'overlay_cams', 'overlay_labels', 'save_overlay']
