"""Compatibility fixes for running MMSeg 1.x on current torch, with or without
CUDA. Applied once by ``import mmseg_wsss``.

* **Checkpoints (torch >= 2.6).** ``torch.load`` defaults to
  ``weights_only=True``; mmengine checkpoints hold a ``MessageHub`` state with
  ``HistoryBuffer`` objects and numpy arrays/scalars, so ``resume=True`` fails.
  The exact globals those objects need are allow-listed (nothing broader),
  and ``HistoryBuffer`` no longer pickles its statistics functions (saved as
  ``getattr(HistoryBuffer, 'min')``: allow-listing ``getattr`` would let a
  checkpoint reach ``builtins``). They are class-level registrations that
  ``HistoryBuffer.__setstate__`` restores anyway.
* **Distributed on CPU.** mmengine's ``pytorch`` launcher calls
  ``torch.cuda.set_device`` unconditionally and the MMSeg runtime asks for
  NCCL. Without CUDA the launcher is made to skip the device pinning and use
  ``gloo``; :class:`WSSSDistributedDataParallel` drops ``device_ids`` for CPU
  modules (DDP rejects them there).
* **mmcv without compiled ops** (``mmcv-lite``, or a build without
  ``MMCV_WITH_OPS=1``) gets a clear error instead of a deep import failure.
"""
from typing import Optional

import numpy as np
import torch
import torch.distributed as torch_dist

MMCV_OPS_HINT = (
    'mmseg_wsss needs mmcv with its compiled ops (mmcv._ext), which MMSeg and '
    'MMDet import. mmcv-lite or an mmcv built without ops will not do. '
    'CPU: `bash tools/install.sh` builds it (MMCV_WITH_OPS=1, setuptools<81, '
    '--no-build-isolation). GPU: install the prebuilt wheel for your '
    'torch/CUDA, e.g. `mim install "mmcv>=2.0.0,<2.2.0"`.')


def check_mmcv_ops() -> None:
    """Raise an ``ImportError`` with install instructions if ``mmcv._ext`` is
    missing."""
    try:
        import mmcv._ext  # noqa: F401
    except ImportError as e:
        raise ImportError(f'{MMCV_OPS_HINT} (import error: {e})') from e


def _checkpoint_safe_globals() -> list:
    """The globals an mmengine checkpoint (with its message hub) unpickles."""
    from mmengine.logging import HistoryBuffer
    multiarray = getattr(np, '_core', np.core).multiarray
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [
        HistoryBuffer, multiarray._reconstruct, multiarray.scalar, np.ndarray,
        np.dtype, *dtype_classes
    ]


def _history_buffer_state(self) -> dict:
    """``HistoryBuffer.__getstate__`` without the statistics functions."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def allow_checkpoint_globals() -> None:
    """Make mmengine checkpoints loadable with ``torch.load(weights_only=
    True)`` so that ``resume=True`` works under torch >= 2.6."""
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_state
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(_checkpoint_safe_globals())


def _init_dist_pytorch_cpu_aware(backend: str,
                                 init_backend: str = 'torch',
                                 **kwargs) -> None:
    """mmengine's ``_init_dist_pytorch`` that works without CUDA: no
    ``torch.cuda.set_device`` and ``gloo`` instead of NCCL."""
    if torch.cuda.is_available():
        return _ORIGINAL_INIT_DIST_PYTORCH(backend, init_backend, **kwargs)
    if init_backend != 'torch':
        raise ValueError(f'init_backend={init_backend!r} needs CUDA; only '
                         "'torch' works on CPU")
    torch_dist.init_process_group(backend='gloo', **kwargs)


_ORIGINAL_INIT_DIST_PYTORCH = None


def patch_dist_init() -> None:
    """Route mmengine's ``pytorch`` launcher through the CPU-aware init."""
    global _ORIGINAL_INIT_DIST_PYTORCH
    from mmengine.dist import utils as dist_utils
    if _ORIGINAL_INIT_DIST_PYTORCH is None:
        _ORIGINAL_INIT_DIST_PYTORCH = dist_utils._init_dist_pytorch
        dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu_aware


def register_ddp_wrapper() -> None:
    """Register :class:`WSSSDistributedDataParallel` (see the class)."""
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    if 'WSSSDistributedDataParallel' in MODEL_WRAPPERS.module_dict:
        return

    @MODEL_WRAPPERS.register_module()
    class WSSSDistributedDataParallel(MMDistributedDataParallel):
        """``MMDistributedDataParallel`` that also wraps CPU modules.

        mmengine's runner always passes ``device_ids=[LOCAL_RANK]``, which
        DDP rejects for a module on the CPU; they are dropped there.
        """

        def __init__(self,
                     module: torch.nn.Module,
                     device_ids: Optional[list] = None,
                     **kwargs) -> None:
            param = next(module.parameters(), None)
            if param is not None and param.device.type == 'cpu':
                device_ids = None
            super().__init__(module=module, device_ids=device_ids, **kwargs)


def apply_all() -> None:
    """Apply every fix; idempotent."""
    check_mmcv_ops()
    allow_checkpoint_globals()
    patch_dist_init()
    register_ddp_wrapper()
