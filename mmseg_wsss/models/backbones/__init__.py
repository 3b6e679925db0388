from .attention_unet import AttentionUNet

__all__ = ['AttentionUNet']
