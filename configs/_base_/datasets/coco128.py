# data/coco128 (COCO instances, 71 thing classes + background; see its
# meta.json): semantic segmentation trained on pseudo labels read from
# data_prefix.pseudo_path (children set it: box pseudo labels of
# tools/dataset/make_box_labels.py, a refresh version, ...), evaluated on
# the full masks of the val split. The COCO boxes (instances/train.json)
# are loaded for the box prior of the refinement (PseudoLabelRefreshHook
# box_prior) and the full masks for SupervisionQualityHook only (never
# trained on, unless full_subset says so). A user's own COCO set in the
# same layout works the same way (classes by name in meta.json).
dataset_type = 'WeakSegDataset'
data_root = 'data/coco128'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['pseudo', 'full']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=crop_size),
    dict(type='WeakRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train',
            pseudo_path='weak/box_labels/train'),
        instances_file='instances/train.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='WSSSIoUMetric')
test_evaluator = val_evaluator
