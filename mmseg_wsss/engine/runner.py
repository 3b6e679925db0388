"""The runner of every mmseg_wsss config (``runner_type = 'WSSSRunner'`` in
``configs/_base_/wsss_runtime.py``).

MMSeg's ``tools/train.py`` (ours runs it, and so does ``mim train mmseg``)
builds ``RUNNERS.build(cfg)`` when the config has a ``runner_type``, so the
environment below is set up however the run is launched, with no patch of
mmengine.
"""
import datetime
import os
from typing import Dict

import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import is_distributed
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from ..utils.setup_env import setup_env


def init_cpu_dist(launcher: str, dist_cfg: Dict) -> bool:
    """Initialise the process group of a ``pytorch``-launched (torchrun) run
    on a machine without an accelerator, where mmengine's launcher would
    call ``torch.cuda.set_device`` and use the configured NCCL.

    As mmengine's ``pytorch`` launcher, from the torchrun environment
    (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) and with
    ``dist_cfg``'s other arguments (``timeout`` in seconds), but with
    ``gloo`` for NCCL and no device pinning.

    Returns:
        bool: Whether it initialised the process group; False when there is
        nothing to do (not distributed, already initialised, an accelerator
        present or another launcher), leaving it to mmengine.
    """
    if (launcher != 'pytorch' or is_distributed()
            or get_device() not in ('cpu', 'mps')):
        return False
    kwargs = dict(dist_cfg)
    backend = kwargs.pop('backend', 'gloo')
    if backend == 'nccl':
        backend = 'gloo'
    init_backend = kwargs.pop('init_backend', 'torch')
    if init_backend != 'torch':
        raise ValueError(f'init_backend={init_backend!r} needs CUDA; only '
                         "'torch' works without it")
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    torch_dist.init_process_group(
        backend=backend, rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']), **kwargs)
    return True


@RUNNERS.register_module()
class WSSSRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` with mmseg_wsss's
    environment:

    * :func:`mmseg_wsss.utils.setup_env` (checkpoint loading under torch >=
      2.6, mmcv ops check) before anything is built or loaded;
    * distributed runs without CUDA (``--launcher pytorch`` on CPU): the
      process group is initialised over gloo (:func:`init_cpu_dist`) before
      mmengine's set-up, which then finds it initialised and skips its own
      CUDA/NCCL initialisation.

    ``from_cfg`` is mmengine's classmethod, so ``RUNNERS.build(cfg)`` and
    ``WSSSRunner.from_cfg(cfg)`` both build this class.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        setup_env()
        if self.distributed:
            init_cpu_dist(self.launcher, env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)
