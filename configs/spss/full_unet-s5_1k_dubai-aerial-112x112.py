# The SPSS paper's "benchmark": the same U-Net, patches and schedule as
# spss_unet-s5_1k_dubai-aerial-112x112.py, trained end-to-end with pixel
# cross-entropy on the patches' full masks.
_base_ = [
    '../_base_/models/unet5_spss.py', '../_base_/datasets/dubai_aerial_p224.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adam_spss.py'
]
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='WeakResize', scale_factor={{_base_.scale}}, keep_ratio=True),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path='ann_dir/train'),
        proportions_file='',
        pipeline=train_pipeline))
