# E-FULL for the Centroid Loss recipe: the Attention U-Net of
# centroid_corrosion.py with the same schedule, trained with cross-entropy
# on full masks only (centroid terms off; the unused branch keeps the
# network identical).
_base_ = [
    '../_base_/models/attention_unet_centroid.py',
    '../_base_/datasets/demo_corrosion_full.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adamw_1k.py'
]
model = dict(lambda_cen=0.0, lambda_mse=0.0)
