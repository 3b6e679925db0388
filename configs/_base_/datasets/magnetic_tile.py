# data/magnetic_tile (see its meta.json): same pipeline as the demo set.
_base_ = './demo_corrosion.py'
data_root = 'data/magnetic_tile'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
