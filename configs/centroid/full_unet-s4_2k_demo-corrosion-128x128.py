# Upper baseline (E-FULL): the same network and schedule as
# pce_unet-s4_2k_demo-corrosion-128x128.py, trained with cross-entropy on
# the full masks.
_base_ = [
    '../_base_/models/unet_s4_fcn.py',
    '../_base_/datasets/demo_corrosion_full.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adamw_2k.py'
]
