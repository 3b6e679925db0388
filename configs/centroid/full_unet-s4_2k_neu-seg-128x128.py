# Upper baseline (full masks) on neu_seg:
# full_unet-s4_2k_demo-corrosion-128x128.py's network, pipeline and schedule, with this dataset's root and 4 classes.
_base_ = './full_unet-s4_2k_demo-corrosion-128x128.py'
data_root = 'data/neu_seg'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(decode_head=dict(num_classes=4))
