# BES step 2 on CamVid: bes-benet_r18-d8_1k_neu-seg-128x128.py on the
# boundary labels of the CamVid CAMs (cam-attn_r18-d8_1k_camvid-160x160.py),
#   python tools/dataset/make_bes_labels.py boundaries \
#       configs/bes/cam-attn_r18-d8_1k_camvid-160x160.py CAM_CKPT \
#       data/camvid_bes
_base_ = './bes-benet_r18-d8_1k_neu-seg-128x128.py'
data_root = 'data/camvid'
boundary_dir = '{{ fileDirname }}/../../data/camvid_bes/boundaries/train'
train_dataloader = dict(
    dataset=dict(data_root=data_root,
                 data_prefix=dict(boundary_path=boundary_dir)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
