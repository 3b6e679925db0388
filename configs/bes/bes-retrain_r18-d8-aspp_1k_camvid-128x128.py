# BES step 3 on CamVid: bes-retrain_r18-d8-aspp_1k_neu-seg-128x128.py on
# the labels of the CamVid pipeline (make_bes_labels.py labels ...
# data/camvid_bes), with the DSRG CamVid retrain's data and 11 classes.
_base_ = '../dsrg/dsrg-retrain_r18-d8-aspp_1k_camvid-128x128.py'
bes_labels = '{{ fileDirname }}/../../data/camvid_bes/labels/train'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(pseudo_path=bes_labels)))
