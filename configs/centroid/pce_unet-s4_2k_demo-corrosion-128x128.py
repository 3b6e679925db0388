# G1 (lower baseline of the Centroid Loss paper): partial cross-entropy on
# width-20 scribbles, small U-Net + FCN head, embedded demo corrosion data.
_base_ = [
    '../_base_/models/unet_s4_fcn.py', '../_base_/datasets/demo_corrosion.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_2k.py'
]
