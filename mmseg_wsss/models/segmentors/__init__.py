from .cam_classifier import CAMClassifier
from .panoptic_segmentor import PanopticSegmentor
from .weak_batch import WeakBatch
from .wsss_encoder_decoder import WSSSEncoderDecoder

__all__ = [
    'CAMClassifier', 'PanopticSegmentor', 'WeakBatch', 'WSSSEncoderDecoder'
]
