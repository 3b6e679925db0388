# Training from seed cues (pseudo-label PNGs, 255 = unlabelled) and image
# tags, evaluated on full masks, for any set in the WeakSegDataset layout:
# children set data_root (in the three dataloaders) and seed_dir. Seeds are
# read from data_prefix.pseudo_path (relative to data_root, or absolute):
#   --cfg-options train_dataloader.dataset.data_prefix.pseudo_path=/seeds/dir
# Full masks are loaded for SupervisionQualityHook only (never trained on);
# tags stay image-level under the crop (WeakRandomCrop tags='image').
dataset_type = 'WeakSegDataset'
data_root = 'data/my_set'
seed_dir = 'weak/seeds/train'
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['pseudo', 'tags', 'full']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=crop_size),
    dict(type='WeakRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target=None),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='PackWeakSegInputs', target='full'),
]
# One data worker keeps up with training on 2 cores (bench/bench_profile.py:
# the pipeline gives 700+ samples/s per worker, a step consumes <= 90), and
# a second one would only compete with torch's threads for the cores; with
# more cores or a GPU, raise num_workers until workers x samples/s per
# worker exceeds the step's samples/s.
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train',
            seg_map_path='ann_dir/train',
            pseudo_path=seed_dir),
        tags_file='weak/tags.json',
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
