# DSRG "+Retrain" (§4.4, Table 2) on NEU-Seg: a new ResNetV1c-18 + ASPP
# trained fully supervised (cross-entropy) on the trained DSRG model's
# predictions (+ dense CRF) for the training images.
#   1. python tools/train.py \
#          configs/dsrg/dsrg_r18-d8-aspp_1k_neu-seg-128x128.py
#      (its PseudoLabelRefreshHook(at_end=True) writes
#      work_dirs/dsrg_r18-d8-aspp_1k_neu-seg-128x128/pseudo_labels/v1)
#   2. python tools/train.py \
#          configs/dsrg/dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py
# Labels of another DSRG checkpoint or work_dir:
#   python tools/dataset/label_with_model.py \
#       configs/dsrg/dsrg_r18-d8-aspp_1k_neu-seg-128x128.py CKPT OUT --crf
#   then --cfg-options train_dataloader.dataset.data_prefix.pseudo_path=OUT
#   (absolute; a relative path is taken relative to data_root).
# The quality hook reports how good these labels are against full masks.
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/seeds_tags.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
data_root = 'data/neu_seg'
dsrg_labels = '{{ fileDirname }}/../../work_dirs/dsrg_r18-d8-aspp_1k_neu-seg-128x128/pseudo_labels/v1'  # noqa: E501
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['pseudo', 'full']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='WeakRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
model = dict(type='WSSSEncoderDecoder', decode_head=dict(num_classes=4))
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(pseudo_path=dsrg_labels),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
custom_hooks = [
    dict(type='SupervisionQualityHook', interval=50, num_overlays=4)
]
