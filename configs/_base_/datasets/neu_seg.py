# data/neu_seg (see its meta.json): same pipeline as the demo set.
_base_ = './demo_corrosion.py'
data_root = 'data/neu_seg'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
