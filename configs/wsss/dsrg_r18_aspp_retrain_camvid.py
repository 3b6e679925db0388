# DSRG "+Retrain" (§4.4, Table 2) on CamVid: dsrg_r18_aspp_retrain_neu_seg.py
# on the labels that dsrg_r18_aspp_camvid.py's refresh hook writes.
#   1. python tools/train.py configs/wsss/dsrg_r18_aspp_camvid.py
#   2. python tools/train.py configs/wsss/dsrg_r18_aspp_retrain_camvid.py
_base_ = './dsrg_r18_aspp_retrain_neu_seg.py'
data_root = '../shared/data/camvid'
dsrg_labels = '{{ fileDirname }}/../../work_dirs/dsrg_r18_aspp_camvid/pseudo_labels/v1'  # noqa: E501
model = dict(decode_head=dict(num_classes=11))
train_dataloader = dict(
    dataset=dict(data_root=data_root,
                 data_prefix=dict(pseudo_path=dsrg_labels)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
