# E-FULL for the Centroid Loss recipe: the Attention U-Net of
# centroid_attention-unet-s5_1k_demo-corrosion-128x128.py with the same
# schedule and precision (bfloat16 autocast where native), trained with
# cross-entropy on full masks only (no centroid terms; the branch, untrained,
# keeps the network identical and serves test_cfg.output='cluster').
_base_ = [
    '../_base_/models/attention_unet_centroid.py',
    '../_base_/datasets/demo_corrosion_full.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adamw_1k.py'
]
model = dict(loss_weak=[])
optim_wrapper = dict(type='BF16OptimWrapper', enabled='auto')
