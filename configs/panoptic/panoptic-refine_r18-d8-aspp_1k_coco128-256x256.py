# Iterative ground truth (§3.4, Fig. 4) on coco128: the box-supervised
# training of panoptic-boxes_*, whose training set is relabelled every 250
# iterations (rounds 1-3; the last model's labels are v4) by the network +
# dense CRF with DeepLab's parameters (bilateral w 4, θα 121, θβ 5;
# Gaussian w 3, θγ 3), after which every thing-class pixel outside all the
# boxes of its class is set to background: coco128's only stuff class, as
# the paper does on VOC (fill=255 ignores them instead, as on Cityscapes).
# The log gives each version's precision / recall / mIoU against the full
# masks (pseudo_labels/* scalars).
_base_ = './panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
deeplab_crf = dict(n_iters=10, sxy_bilateral=121, srgb=5,
                   compat_bilateral=4, sxy_gaussian=3, compat_gaussian=3)
custom_hooks = [
    dict(type='SupervisionQualityHook', interval=50, num_overlays=4),
    dict(type='PseudoLabelRefreshHook', interval=250, at_end=True,
         crf=deeplab_crf,
         box_prior=dict(thing_classes=list(range(1, 72)), fill=0)),
]
train_cfg = dict(type='WSSSIterBasedTrainLoop')  # the refresh hook needs it
