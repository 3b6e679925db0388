# Aerial Dubai (6 classes) as the SPSS paper uses it: trained on 224x224
# patches, each with its own class proportions, made once by
#   python tools/dataset/tile_dataset.py ../shared/data/dubai_aerial \
#       data/dubai_aerial_p224 --size 224
# and evaluated on the full-size validation images of the source set.
# Only flips augment the patches: a crop or rescale would change (crop) or
# blur (rescale) the proportions a patch is annotated with.
dataset_type = 'WeakSegDataset'
data_root = 'data/dubai_aerial_p224'
val_data_root = '../shared/data/dubai_aerial'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['proportions']),
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
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        img_suffix='.png',
        data_prefix=dict(img_path='img_dir/train'),
        proportions_file='weak/proportions.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=val_data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='WSSSIoUMetric', classwise=True)
test_evaluator = val_evaluator
