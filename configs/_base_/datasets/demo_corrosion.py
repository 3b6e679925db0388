# The embedded synthetic corrosion set (made by
# tools/dataset/make_demo_data.py into data/demo_corrosion), trained from
# width-20 scribbles and evaluated on full masks. Any dataset in the same
# layout works: change data_root (and the scribble width in data_prefix).
dataset_type = 'WeakSegDataset'
data_root = 'data/demo_corrosion'
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['scribble']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=crop_size),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='scribble'),
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
            scribble_path='weak/scribbles_w20/train'),
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
