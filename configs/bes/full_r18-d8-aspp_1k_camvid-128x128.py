# full_r18-d8-aspp_1k_neu-seg-128x128.py on CamVid (11 classes).
_base_ = './full_r18-d8-aspp_1k_neu-seg-128x128.py'
data_root = 'data/camvid'
model = dict(decode_head=dict(num_classes=11))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
