# ISBI 2012 EM membranes (binary) as the SPSS paper uses its EM set:
# trained on 256x256 patches with their own proportions and the keypoints
# that fall inside them, made once by
#   python tools/dataset/tile_dataset.py data/isbi_em \
#       data/isbi_em_p256 --size 256
# and evaluated on the full 512x512 validation slices of the source set.
# Full resolution: membranes are a few pixels wide.
_base_ = './dubai_aerial_p224.py'
data_root = 'data/isbi_em_p256'
val_data_root = 'data/isbi_em'
scale = 1.0
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['proportions', 'points']),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackWeakSegInputs', target=None),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(point_path='weak/points/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=val_data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
