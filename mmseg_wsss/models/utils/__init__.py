from .cam import cam_maps, grad_cam, normalise_cams
from .crf import crf_probs

__all__ = ['cam_maps', 'crf_probs', 'grad_cam', 'normalise_cams']
