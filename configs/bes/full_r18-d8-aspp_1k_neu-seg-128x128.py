# The fully supervised upper bound of bes-retrain_r18-d8-aspp_1k_neu-seg-
# 128x128.py: the same network, schedule and augmentation trained with
# cross-entropy on the full masks (the "weak / full" ratio's denominator).
# configs/dsrg/ has no such config (its benchmark points the retrain
# config's pseudo_path at ann_dir/train instead).
_base_ = './bes-retrain_r18-d8-aspp_1k_neu-seg-128x128.py'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='WeakRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(_delete_=True, img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        tags_file='',
        pipeline=train_pipeline))
custom_hooks = []
