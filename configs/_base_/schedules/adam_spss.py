# Adam as in the SPSS paper (batch 16 in the dataset configs) on a short
# iteration schedule with poly decay, in place of its 100 epochs + early
# stopping. From scratch on CPU, 1000 iterations at the paper's lr 1e-3
# leave SPSS and the full-mask benchmark predicting land and water only
# (20.8 / 23.9 mIoU on Aerial Dubai); lr 3e-3 reaches 36.6 for SPSS in the
# same 1000 iterations. Scale max_iters up (and lr back down) on a GPU.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=20, end=1000,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
