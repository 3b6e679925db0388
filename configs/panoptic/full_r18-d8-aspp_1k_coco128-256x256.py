# The fully supervised counterpart of panoptic-boxes_*: the same network,
# schedule and augmentation trained on the full masks (weak / full ratio).
_base_ = './panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
train_dataloader = dict(
    dataset=dict(full_subset=dict(fraction=1.0)))
custom_hooks = []
