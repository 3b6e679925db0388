# centroid_attention-unet-s5_1k_demo-corrosion-128x128.py trained from
# pseudo-masks made once, offline, by
#   python tools/dataset/make_pseudo_masks.py data/demo_corrosion \
#       data/demo_corrosion/pseudo_sup50 --n-segments 50
# instead of SLICO in every data-loading step (cheaper on few CPU cores).
_base_ = './centroid_attention-unet-s5_1k_demo-corrosion-128x128.py'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['scribble', 'pseudo']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=(128, 128)),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(pseudo_path='pseudo_sup50/train'),
        pipeline=train_pipeline))
