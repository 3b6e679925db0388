from .cam_classifier import CAMClassifier
from .centroid_encoder_decoder import CentroidEncoderDecoder
from .dsrg_encoder_decoder import DSRGEncoderDecoder
from .spss_encoder_decoder import SPSSEncoderDecoder
from .wsss_encoder_decoder import WSSSEncoderDecoder

__all__ = [
    'CAMClassifier', 'CentroidEncoderDecoder', 'DSRGEncoderDecoder',
    'SPSSEncoderDecoder', 'WSSSEncoderDecoder'
]
