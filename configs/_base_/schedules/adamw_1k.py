# adamw_2k.py shortened to 1000 iterations: enough for the small demo set
# (48 images, ~165 epochs at batch 8).
_base_ = './adamw_2k.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=50, end=1000,
         by_epoch=False)
]
train_cfg = dict(max_iters=1000, val_interval=500)
