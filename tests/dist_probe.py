"""Test-only hook: each rank writes its final parameters, so the test can
check that the two ranks of a distributed run hold the same model."""
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(
            dict(world_size=get_world_size(),
                 wrapper=type(runner.model).__name__,
                 params={k: v.detach().cpu()
                         for k, v in model.named_parameters()},
                 bn_means={k: v.detach().cpu()
                           for k, v in model.state_dict().items()
                           if k.endswith('running_mean')}),
            osp.join(runner.work_dir, f'rank{get_rank()}_state.pth'))
