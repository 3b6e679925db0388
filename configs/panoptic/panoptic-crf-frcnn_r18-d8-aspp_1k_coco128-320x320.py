# panoptic-crf_* tested on the cached detections of the Faster R-CNN of
# configs/panoptic/detector/ (trained on the coco128 boxes):
#   python tools/det_train.py \
#       configs/panoptic/detector/faster-rcnn_r18-fpn_1k_coco128-320x320.py
#   python tools/dataset/make_detections.py \
#       configs/panoptic/detector/faster-rcnn_r18-fpn_1k_coco128-320x320.py \
#       work_dirs/faster-rcnn_r18-fpn_1k_coco128-320x320/iter_1000.pth \
#       data/coco128_dets/val_frcnn.json --split val
#   python tools/test.py \
#       configs/panoptic/panoptic-crf-frcnn_r18-d8-aspp_1k_coco128-320x320.py \
#       work_dirs/panoptic-crf_r18-d8-aspp_1k_coco128-320x320/iter_1000.pth
_base_ = './panoptic-crf_r18-d8-aspp_1k_coco128-320x320.py'
val_dataloader = dict(
    dataset=dict(detections_file='{{ fileDirname }}/../../data/coco128_dets/'
                 'val_frcnn.json'))
test_dataloader = val_dataloader
