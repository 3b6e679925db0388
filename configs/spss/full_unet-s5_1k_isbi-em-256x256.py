# The SPSS paper's "benchmark" for EM: the same sigmoid U-Net, patches and
# schedule as spss-plus_unet-s5_1k_isbi-em-256x256.py, trained with pixel
# binary cross-entropy on the patches' full masks.
_base_ = [
    '../_base_/models/unet5_spss_binary.py',
    '../_base_/datasets/isbi_em_p256.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adam_spss.py'
]
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            _delete_=True,
            img_path='img_dir/train',
            seg_map_path='ann_dir/train'),
        proportions_file='',
        pipeline=train_pipeline))
