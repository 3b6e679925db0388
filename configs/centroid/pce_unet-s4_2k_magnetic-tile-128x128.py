# G1 on magnetic-tile defects (6 classes): pCE on width-20 scribbles.
_base_ = [
    '../_base_/models/unet_s4_fcn.py', '../_base_/datasets/magnetic_tile.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_2k.py'
]
model = dict(decode_head=dict(num_classes=6))
