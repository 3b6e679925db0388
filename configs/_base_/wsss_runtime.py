# Runtime shared by every mmseg_wsss config: MMSeg's default runtime plus the
# package import, a DDP wrapper that also runs on CPU (gloo) and an
# iteration-based schedule filled in by each config.
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['mmseg_wsss'], allow_failed_imports=False)

# NCCL is swapped for gloo automatically when CUDA is absent.
env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(type='WSSSDistributedDataParallel')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=2, save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # draw=False: nothing is drawn in training; tools/test.py --show-dir
    # turns drawing on, and interval=1 then saves every test image.
    visualization=dict(type='SegVisualizationHook', interval=1))
log_processor = dict(by_epoch=False)
