from .cam import cam_maps, grad_cam, normalise_cams

__all__ = ['cam_maps', 'grad_cam', 'normalise_cams']
