# The SPSS paper's optimiser (Adam, lr 1e-3, batch 16 in the dataset
# configs) on an iteration schedule with poly decay in place of its
# 100 epochs + early stopping; sized for from-scratch CPU training, scale
# max_iters up on a GPU.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=20, end=600,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
