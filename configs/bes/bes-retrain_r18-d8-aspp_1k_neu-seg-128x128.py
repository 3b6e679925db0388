# BES step 3 on NEU-Seg (§4.3): MMSeg's DeepLabV3 (ASPP) on ResNetV1c-18
# trained with cross-entropy on the BES pseudo labels, the DSRG retrain
# recipe (../dsrg/dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py: network,
# schedule, SupervisionQualityHook measuring the labels against the full
# masks) on the labels that make_bes_labels.py's 'labels' stage writes:
#   python tools/dataset/make_bes_labels.py labels \
#       configs/bes/cam-attn_r18-d8_1k_neu-seg-160x160.py CAM_CKPT \
#       configs/bes/bes-benet_r18-d8_1k_neu-seg-128x128.py BENET_CKPT \
#       data/neu_seg_bes          # writes data/neu_seg_bes/labels/train
#   python tools/train.py \
#       configs/bes/bes-retrain_r18-d8-aspp_1k_neu-seg-128x128.py
# Labels elsewhere: --cfg-options
#   train_dataloader.dataset.data_prefix.pseudo_path=/abs/dir
_base_ = '../dsrg/dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py'
bes_labels = '{{ fileDirname }}/../../data/neu_seg_bes/labels/train'
train_dataloader = dict(
    dataset=dict(data_prefix=dict(pseudo_path=bes_labels)))
