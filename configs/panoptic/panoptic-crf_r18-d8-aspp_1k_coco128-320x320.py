# Panoptic stage 2 (§3.5, Fig. 5) on coco128 from boxes: the semantic
# subnetwork of panoptic-boxes_* (stage 1, load_from) + the instance CRF
# (eq. 2-4) over detections, fine-tuned end to end with cross-entropy on the
# box pseudo labels (eq. 1) plus the matched instance loss on the box
# pseudo instances. Detections: the ground-truth boxes (score 1), which
# isolates the CRF; panoptic-crf-frcnn_* tests on Faster R-CNN's instead.
#   python tools/dataset/make_box_labels.py \
#       configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py \
#       data/coco128_boxes
#   python tools/train.py \
#       configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py
#   for s in train val; do python tools/dataset/make_detections.py \
#       configs/panoptic/panoptic-crf_r18-d8-aspp_1k_coco128-320x320.py \
#       data/coco128_dets/${s}_gt.json --from-gt --split $s; done
#   python tools/train.py \
#       configs/panoptic/panoptic-crf_r18-d8-aspp_1k_coco128-320x320.py
# Whole images (<= 320 px, batch 2, padded): detections are not moved by
# geometric augmentation.
_base_ = './panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
boxes = '{{ fileDirname }}/../../data/coco128_boxes'
dets = '{{ fileDirname }}/../../data/coco128_dets'
stage1 = '{{ fileDirname }}/../../work_dirs/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256/iter_1000.pth'  # noqa: E501
load_from = stage1
model = dict(
    type='PanopticSegmentor',
    instance_head=dict(type='InstanceCRFHead', ignore_index=-1),
    thing_classes=list(range(1, 72)),
    instance_loss_weight=1.0)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations',
         annotations=['pseudo', 'inst_map', 'detections']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations',
         annotations=['full', 'inst_map', 'detections']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_prefix=dict(
            _delete_=True, img_path='img_dir/train',
            pseudo_path=boxes + '/semantic/train',
            inst_map_path=boxes + '/instances/train'),
        instances_file='',
        detections_file=dets + '/train_gt.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/val', seg_map_path='ann_dir/val',
            inst_map_path='inst_dir/val'),
        detections_file=dets + '/val_gt.json',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PanopticQualityMetric', thing_classes=list(range(1, 72))),
    dict(type='InstanceAPMetric'),
]
test_evaluator = val_evaluator
custom_hooks = []
default_hooks = dict(checkpoint=dict(save_best='PQ', rule='greater'))
