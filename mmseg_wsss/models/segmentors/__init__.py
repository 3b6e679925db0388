from .centroid_encoder_decoder import CentroidEncoderDecoder
from .wsss_encoder_decoder import WSSSEncoderDecoder

__all__ = ['CentroidEncoderDecoder', 'WSSSEncoderDecoder']
