# The Centroid Loss network (§IV-B, Fig. 7): Attention U-Net (residual conv
# blocks, attention gates on the skips, 5 stages) with an FCN classifier and
# the centroid branch on the encoder's last stage; L = pCE + Lcen + Lmse
# (eq. 7, lambdas 1) in the softmax feature space ("N"): pCE is the decode
# head's loss on gt_sem_seg (the packed pseudo-masks or scribbles), Lcen
# reads the scribbles, both centroid terms the CentroidBranch step. The
# paper's groups: G1 = loss_weak weights 0 (pCE only), G2 = Lmse weight 0.
norm_cfg = dict(type='BN', requires_grad=True)
# channels_last: the same values, a 1.37x faster training step on 2 CPU
# cores (bench/bench_profile.py; it does not pay off for the ResNet-ASPP and
# 5-stage U-Net models, which keep the default layout).
data_preprocessor = dict(
    type='WeakSegDataPreProcessor',
    channels_last=True,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=16,
    test_cfg=dict(size_divisor=16))
model = dict(
    type='WSSSEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='AttentionUNet', base_channels=16, num_stages=5,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='FCNHead',
        in_channels=16,
        in_index=-1,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    steps=[
        dict(
            type='CentroidBranch',
            head=dict(
                type='CentroidHead', in_channels=256, in_index=0,
                channels=128),
            feature_space='softmax')
    ],
    loss_weak=[
        dict(type='CentroidLoss', target='scribble', loss_weight=1.0),
        dict(type='CentroidMSELoss', loss_weight=1.0),
    ],
    train_cfg=dict(),
    # output='cluster' labels each pixel with its nearest centroid (§V-B);
    # crf=True (or a dict of dense_crf arguments) adds dense-CRF
    # post-processing (§V-F).
    test_cfg=dict(mode='whole', output='seg'))
