# The fully supervised counterpart of panoptic-crf_*: the same network,
# stages and schedule on the full masks and the ground-truth instance maps
# (stage 1: full_r18-d8-aspp_1k_coco128-256x256.py).
_base_ = './panoptic-crf_r18-d8-aspp_1k_coco128-320x320.py'
load_from = '{{ fileDirname }}/../../work_dirs/full_r18-d8-aspp_1k_coco128-256x256/iter_1000.pth'  # noqa: E501
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            _delete_=True, img_path='img_dir/train',
            seg_map_path='ann_dir/train', pseudo_path='ann_dir/train',
            inst_map_path='inst_dir/train')))
