# Mixing with existing MMSeg components: the centroid branch and losses on
# MMSeg's ResNetV1c-18 (dilated, /8) with its FCN head, on the demo set.
# The backbone loads ImageNet weights through init_cfg as MMSeg does; to
# train from scratch (no network): --cfg-options model.backbone.init_cfg=None
_base_ = './centroid_attention-unet-s5_1k_demo-corrosion-128x128.py'
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
        in_channels=512, in_index=3, channels=128, num_convs=2,
        concat_input=True, dropout_ratio=0.1),
    steps=[
        dict(
            type='CentroidBranch',
            head=dict(
                type='CentroidHead', in_channels=512, in_index=3,
                channels=128))
    ])
