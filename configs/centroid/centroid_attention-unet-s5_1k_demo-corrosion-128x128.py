# The headline recipe: the Centroid Loss method (G3, feature space N) on the
# embedded demo corrosion set, trained from width-20 scribbles and SLICO
# pseudo-masks of 50 superpixels (computed online); tested on full masks.
# Real data: --cfg-options {train,val,test}_dataloader.dataset.data_root=...
#
# The paper's grid, through --cfg-options (configs/centroid/README.md):
#   G1 / G2 / G3       model.loss_weak.0.loss_weight=0 model.loss_weak.1.loss_weight=0 | model.loss_weak.1.loss_weight=0 | (default)
#   scribble width     train_dataloader.dataset.data_prefix.scribble_path=weak/scribbles_w5/train
#   superpixels        train_dataloader.dataset.pipeline.2.n_segments=30
#   N / NRGB           model.steps.0.feature_space=softmax_nrgb
#   clustering output  model.test_cfg.output=cluster   (test time)
#   dense CRF          model.test_cfg.crf=True          (test time; tools/demo.sh
#                      reports both, through tools/analysis/crf_refine.py)
_base_ = [
    '../_base_/models/attention_unet_centroid.py',
    '../_base_/datasets/demo_corrosion.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adamw_1k.py'
]
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['scribble']),
    dict(type='ScribbleSuperpixelPseudoMask', n_segments=50),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.5)),
    dict(type='WeakRandomCrop', crop_size=(128, 128)),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target='pseudo'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# Training forward pass and losses under bfloat16 autocast where the device
# computes bfloat16 natively (CPUs with AVX512-BF16 or AMX, recent GPUs;
# float32 elsewhere): a 1.7x faster step on 2 CPU cores, the weights,
# gradients, optimiser state, validation and test in float32
# (bench/bench_profile.py). optim_wrapper.enabled=False trains in float32.
optim_wrapper = dict(type='BF16OptimWrapper', enabled='auto')
