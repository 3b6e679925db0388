# The SPSS paper's "benchmark": the same U-Net, patches and schedule as
# spss_dubai_aerial.py, trained end-to-end with pixel cross-entropy on the
# patches' full masks.
_base_ = './spss_dubai_aerial.py'
model = dict(type='EncoderDecoder')
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
