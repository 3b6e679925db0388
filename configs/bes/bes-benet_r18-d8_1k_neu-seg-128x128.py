# BES step 2 on NEU-Seg: BENet (§3.1, §4.1), the boundary network, trained
# on the boundary labels that make_bes_labels.py's 'boundaries' stage
# synthesizes from the CAMs (eq. 1-3) with the relaxed boundary loss
# (eq. 4, W_i = sqrt(P_i)). ResNetV1c-18 (dilated, /8) returning its four
# stages; BENetHead reduces each to 32 channels (1x1 conv), resizes them to
# the finest (stride 4), concatenates, fuses (1x1) and predicts one
# boundary logit (the paper fuses five ResNet-50 stages). Nothing trains on
# class labels: loss_decode=[] and PackWeakSegInputs(target=None).
# Augmentation as §4.1: random rescale (0.5-1.5), horizontal flip, crop.
# Validation: boundary precision / recall / F against the class-agnostic
# edges of the full masks (BoundaryMetric, Fig. 4).
#   python tools/dataset/make_bes_labels.py boundaries \
#       configs/bes/cam-attn_r18-d8_1k_neu-seg-160x160.py CAM_CKPT \
#       data/neu_seg_bes          # writes data/neu_seg_bes/boundaries/train
#   python tools/train.py configs/bes/bes-benet_r18-d8_1k_neu-seg-128x128.py
# Labels elsewhere: --cfg-options
#   train_dataloader.dataset.data_prefix.boundary_path=/abs/dir
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/neu_seg.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
data_root = 'data/neu_seg'
boundary_dir = '{{ fileDirname }}/../../data/neu_seg_bes/boundaries/train'
crop_size = (128, 128)
model = dict(
    type='WSSSEncoderDecoder',
    decode_head=dict(
        _delete_=True,
        type='BENetHead',
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        channels=32,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=[]),
    loss_weak=[dict(type='RelaxedBoundaryLoss', target='boundary')])
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['boundary']),
    dict(type='WeakRandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='WeakRandomCrop', crop_size=crop_size),
    dict(type='WeakRandomFlip', prob=0.5),
    dict(type='PackWeakSegInputs', target=None),
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(
            _delete_=True, img_path='img_dir/train',
            boundary_path=boundary_dir),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='BoundaryMetric', tolerance=2)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='BoundaryF', rule='greater'))
