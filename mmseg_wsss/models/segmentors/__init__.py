from .cam_classifier import CAMClassifier
from .weak_batch import WeakBatch
from .wsss_encoder_decoder import WSSSEncoderDecoder

__all__ = ['CAMClassifier', 'WeakBatch', 'WSSSEncoderDecoder']
