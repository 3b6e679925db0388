from .baseline_losses import SECSeedExpandLoss, SizeLoss

__all__ = ['SECSeedExpandLoss', 'SizeLoss']
