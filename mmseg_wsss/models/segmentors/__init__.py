from .cam_classifier import CAMClassifier
from .centroid_encoder_decoder import CentroidEncoderDecoder
from .spss_encoder_decoder import SPSSEncoderDecoder
from .wsss_encoder_decoder import WSSSEncoderDecoder

__all__ = [
    'CAMClassifier', 'CentroidEncoderDecoder', 'SPSSEncoderDecoder',
    'WSSSEncoderDecoder'
]
