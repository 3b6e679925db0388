from .overlay import overlay_cams, overlay_labels, save_overlay

__all__ = ['overlay_cams', 'overlay_labels', 'save_overlay']
