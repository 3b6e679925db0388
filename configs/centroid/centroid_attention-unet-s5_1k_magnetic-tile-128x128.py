# Centroid Loss (G3-N) on magnetic-tile defects (6 classes), width-20
# scribbles + SUP80 pseudo-masks.
_base_ = './centroid_attention-unet-s5_1k_neu-seg-128x128.py'
data_root = 'data/magnetic_tile'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(decode_head=dict(num_classes=6))
