# The SPSS paper's U-Net (§3 "Implementation setup"): four down-sampling
# blocks of two 3x3 convs + ReLU, an expansive path with transposed-conv
# up-sampling and skip concatenations, then one 1x1 conv to the class maps
# (FCNHead with no conv). MMSeg's UNet with BN, at base width 8 (8-128
# channels, sized for CPU training; widen base_channels and the head on a
# GPU). The decode head's cross-entropy trains the full-mask benchmark
# (full_unet5_* configs); the SPSS configs replace it by ProportionLoss.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='WeakSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=16,
    test_cfg=dict(size_divisor=16))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='UNet',
        in_channels=3,
        base_channels=8,
        num_stages=5,
        strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2),
        dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True),
        enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        upsample_cfg=dict(type='DeconvModule'),
        norm_eval=False),
    decode_head=dict(
        type='FCNHead',
        in_channels=8,
        in_index=4,
        channels=8,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
