# Multi-class quality-control style recipe: Centroid Loss (G3-N) on NEU-Seg
# steel defects (4 classes), width-20 scribbles + SUP80 pseudo-masks (the
# paper uses 80 superpixels for its quality-control task).
_base_ = './centroid_attention-unet-s5_1k_demo-corrosion-128x128.py'
data_root = 'data/neu_seg'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['scribble']),
    dict(type='ScribbleSuperpixelPseudoMask', n_segments=80),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=(128, 128)),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(decode_head=dict(num_classes=4))
