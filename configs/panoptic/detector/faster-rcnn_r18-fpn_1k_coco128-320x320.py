# Object detector of the instance subnetwork (Li, Arnab, Torr, ECCV 2018,
# §3.5: "we train Faster-RCNN for this task"): mmdet 3.3's own Faster R-CNN
# with FPN, here on ResNet-18 trained from scratch (the paper: ResNet-101,
# ImageNet-pretrained) on the 71 thing classes of coco128 (boxes of
# instances/train.json, crowd boxes ignored), images at most 320 px.
# An mmdet config (default_scope 'mmdet'), run by mmdet's own tools:
#   python tools/det_train.py \
#       configs/panoptic/detector/faster-rcnn_r18-fpn_1k_coco128-320x320.py
#   python tools/det_test.py \
#       configs/panoptic/detector/faster-rcnn_r18-fpn_1k_coco128-320x320.py \
#       work_dirs/faster-rcnn_r18-fpn_1k_coco128-320x320/iter_1000.pth
# and the cached detections the segmentation side reads:
#   python tools/dataset/make_detections.py CONFIG CKPT \
#       data/coco128_dets/val.json --split val
# From scratch, as mmdet's configs/scratch recipe (He et al., "Rethinking
# ImageNet Pre-training"): GroupNorm in backbone and neck (batch 4 is too
# small for BatchNorm statistics), nothing frozen, no decay on norms. Its
# 4-conv GN box head is left out: on the RoIs of every image it costs
# more than the backbone on a CPU. AdamW rather than SGD: SGD from scratch
# needs 3-6x COCO schedules; within 1000 iterations AdamW's per-parameter
# steps get backbone, FPN, RPN and RoI head moving from random init
# without tuning one learning rate for all (lr not tuned further).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'stop sign', 'bench', 'bird', 'cat',
    'dog', 'horse', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog',
    'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
    'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'cell phone', 'microwave', 'oven', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'toothbrush')
metainfo = dict(classes=classes)
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        zero_init_residual=False,
        # ImageNet weights instead (downloaded by mmengine, needs
        # torchvision; then also norm_cfg=dict(type='BN', requires_grad=
        # True), norm_eval=True, frozen_stages=1):
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='torchvision://resnet18'),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
    # 256 RoIs per image (mmdet: 512; Fast R-CNN: 64): -27% s/iter on CPU
    train_cfg=dict(rcnn=dict(sampler=dict(num=256))))

data_root = 'data/coco128'
scale = (320, 320)  # longer side 320, aspect ratio kept
# images as stored, EXIF orientation ignored: the segmentation side (and
# the boxes) use the stored pixel grid
load_image = dict(type='LoadImageFromFile',
                  color_type='color_ignore_orientation')
train_pipeline = [
    load_image,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    load_image,
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='instances/train.json',
        data_prefix=dict(img='img_dir/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='instances/val.json',
        data_prefix=dict(img='img_dir/val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=f'{data_root}/instances/val.json')
test_evaluator = val_evaluator

max_iters = 1000
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[800, 950], gamma=0.1)
]
# --auto-scale-lr scales lr by (total batch) / 4
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
