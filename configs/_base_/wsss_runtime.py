# Runtime shared by every mmseg_wsss config: MMSeg's default runtime plus the
# package's components, its runner, a DDP wrapper that also runs on CPU
# (gloo) and an iteration-based schedule filled in by each config.
_base_ = 'mmseg::_base_/default_runtime.py'

# Importing these subpackages registers our components into MMSeg's
# registries, and does nothing else (importing mmseg_wsss patches nothing).
custom_imports = dict(
    imports=[
        'mmseg_wsss.datasets', 'mmseg_wsss.engine', 'mmseg_wsss.evaluation',
        'mmseg_wsss.models', 'mmseg_wsss.visualization'
    ],
    allow_failed_imports=False)
# The compatibility fixes are applied by the runner: MMSeg's tools/train.py
# (run by ours and by `mim train mmseg`) builds RUNNERS.build(cfg) when
# runner_type is set. WSSSRunner calls mmseg_wsss.utils.setup_env()
# (checkpoints loadable under torch >= 2.6 for --resume) and, for a
# distributed run without CUDA, initialises the process group over gloo
# itself, so mmengine never asks for NCCL or calls torch.cuda.set_device.
runner_type = 'WSSSRunner'

# NCCL is swapped for gloo by WSSSRunner when CUDA is absent.
env_cfg = dict(dist_cfg=dict(backend='nccl'))
model_wrapper_cfg = dict(type='WSSSDistributedDataParallel')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=2, save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # class count vs. the model, every map's size from file headers
    dataset_check=dict(type='DatasetCheckHook', preflight=True),
    # draw=False: nothing is drawn in training; tools/test.py --show-dir
    # turns drawing on, and interval=1 then saves every test image.
    visualization=dict(type='SegVisualizationHook', interval=1))
log_processor = dict(by_epoch=False)
