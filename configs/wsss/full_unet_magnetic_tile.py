# Upper baseline (full masks) on magnetic_tile: full_unet_corrosion.py's network,
# pipeline and schedule, with this dataset's root and 6 classes.
_base_ = './full_unet_corrosion.py'
data_root = '../shared/data/magnetic_tile'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(decode_head=dict(num_classes=6))
