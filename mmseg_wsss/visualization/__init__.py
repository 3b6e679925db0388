from .overlay import overlay_labels, save_overlay

__all__ = ['overlay_labels', 'save_overlay']
