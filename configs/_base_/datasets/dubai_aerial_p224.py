# Aerial Dubai (6 classes) as the SPSS paper uses it: trained on 224x224
# patches, each with its own class proportions, made once by
#   python tools/dataset/tile_dataset.py data/dubai_aerial \
#       data/dubai_aerial_p224 --size 224
# and evaluated on the full-size validation images of the source set.
# Only flips augment the patches: a crop would change the proportions a
# patch is annotated with. For CPU training every image is read at half
# resolution (``scale``; 112x112 patches) - predictions are scored at full
# size against the full-size masks; set scale = 1.0 on a GPU.
dataset_type = 'WeakSegDataset'
data_root = 'data/dubai_aerial_p224'
val_data_root = 'data/dubai_aerial'
scale = 0.5
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['proportions']),
    dict(type='WeakResize', scale_factor=scale, keep_ratio=True),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackWeakSegInputs', target=None),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale_factor=scale, keep_ratio=True),
    dict(type='LoadWeakAnnotations', annotations=['full']),
    dict(type='PackWeakSegInputs', target='full'),
]
# One data worker keeps up with training on 2 cores (bench/bench_profile.py:
# the pipeline gives 700+ samples/s per worker, a step consumes <= 90), and
# a second one would only compete with torch's threads for the cores; with
# more cores or a GPU, raise num_workers until workers x samples/s per
# worker exceeds the step's samples/s.
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
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
    num_workers=1,
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
