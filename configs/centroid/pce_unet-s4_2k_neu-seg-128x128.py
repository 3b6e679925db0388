# G1 on NEU-Seg steel defects (4 classes): pCE on width-20 scribbles.
_base_ = [
    '../_base_/models/unet_s4_fcn.py', '../_base_/datasets/neu_seg.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_2k.py'
]
model = dict(decode_head=dict(num_classes=4))
