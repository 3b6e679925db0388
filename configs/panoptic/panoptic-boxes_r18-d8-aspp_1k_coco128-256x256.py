# Weakly-supervised panoptic (Li, Arnab, Torr, ECCV 2018), semantic
# subnetwork on coco128 from boxes (§3.2): MMSeg's DeepLabV3 (ASPP) on
# ResNetV1c-18 trained with cross-entropy (eq. 1) on the approximate ground
# truth of the COCO boxes (GrabCut ∩ segment proposal per box, 255 where
# they disagree inside boxes, background outside every box):
#   python tools/dataset/make_box_labels.py \
#       configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py \
#       data/coco128_boxes      # -> data/coco128_boxes/semantic/train
#   python tools/train.py \
#       configs/panoptic/panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py
# Labels elsewhere: --cfg-options
#   train_dataloader.dataset.data_prefix.pseudo_path=/abs/dir
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/coco128.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
box_labels = '{{ fileDirname }}/../../data/coco128_boxes/semantic/train'
model = dict(type='WSSSEncoderDecoder', decode_head=dict(num_classes=72))
train_dataloader = dict(
    dataset=dict(data_prefix=dict(pseudo_path=box_labels)))
custom_hooks = [
    dict(type='SupervisionQualityHook', interval=50, num_overlays=4)
]
