# DSRG "+Retrain" (§4.4, Table 2) on CamVid:
# dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py on the labels that
# dsrg_r18-d8-aspp_1k_camvid-128x128.py's refresh hook writes.
#   1. python tools/train.py \
#          configs/dsrg/dsrg_r18-d8-aspp_1k_camvid-128x128.py
#   2. python tools/train.py \
#          configs/dsrg/dsrg-retrain_r18-d8-aspp_1k_camvid-128x128.py
_base_ = './dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py'
data_root = 'data/camvid'
dsrg_labels = '{{ fileDirname }}/../../work_dirs/dsrg_r18-d8-aspp_1k_camvid-128x128/pseudo_labels/v1'  # noqa: E501
model = dict(decode_head=dict(num_classes=11))
train_dataloader = dict(
    dataset=dict(data_root=data_root,
                 data_prefix=dict(pseudo_path=dsrg_labels)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
