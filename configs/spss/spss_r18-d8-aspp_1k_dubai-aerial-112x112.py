# Mixing with existing MMSeg components: SPSS (proportion pooling + L_sp)
# on MMSeg's ResNetV1c-18 (dilated, /8) with its DeepLabV3 ASPP head; the
# class maps are upsampled to the input before the GAP. The backbone loads
# ImageNet weights through init_cfg as MMSeg does; to train from scratch
# (no network): --cfg-options model.backbone.init_cfg=None
_base_ = './spss_unet-s5_1k_dubai-aerial-112x112.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size_divisor=8, test_cfg=dict(size_divisor=8)),
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(
        _delete_=True,
        type='ASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[]))
