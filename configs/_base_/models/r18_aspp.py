# MMSeg's DeepLabV3 on ResNetV1c-18 (dilated, output stride 8) with BN
# instead of SyncBN, sized for ~200 px images: ASPP dilations 1/3/6/9 (MMSeg
# uses 12/24/36 at 512+ px), no auxiliary head (DSRG has none; one would
# train on the DSRG labels). Trained from scratch: no download at run time;
# for ImageNet weights use the init_cfg line below (or --cfg-options
# "model.backbone.init_cfg.type=Pretrained" ...).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='WeakSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=8,
    test_cfg=dict(size_divisor=8))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
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
        init_cfg=None,
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='open-mmlab://resnet18_v1c'),
    ),
    decode_head=dict(
        type='ASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 3, 6, 9),
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
