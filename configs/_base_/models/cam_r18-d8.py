# DSRG's classification network (§3.1) on MMSeg's ResNetV1c-18, dilated to
# output stride 8 as MMSeg's r18-d8 models (DSRG: a stride-8 VGG-16): the
# CAMHead's 1x1 classifier on the last stage, GAP, multi-label BCE on the
# image tags; prediction = CAMs + seed cues (CAMClassifier). BN instead of
# SyncBN (CPU and single GPU). From scratch: nothing is downloaded at run
# time; with a network, uncomment the backbone's init_cfg for ImageNet
# weights (MMSeg's r18 models use them).
_base_ = 'mmseg::_base_/models/fcn_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='WeakSegDataPreProcessor', size_divisor=8,
    test_cfg=dict(size_divisor=8))
model = dict(
    type='CAMClassifier',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        depth=18,
        norm_cfg=norm_cfg,
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='open-mmlab://resnet18_v1c'),
    ),
    decode_head=dict(
        _delete_=True,
        type='CAMHead',
        in_channels=512,
        in_index=3,
        num_classes=4,
        pooling='gap',  # or 'attention' (BES eqs. 6-7), with k=1e-3
        bg_index=0,
        dropout_ratio=0.1,
        align_corners=False),
    auxiliary_head=None,
    test_cfg=dict(mode='whole', cam='cam', fg_fraction=0.2,
                  bg_threshold=0.06))
