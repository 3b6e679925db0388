"""Compatibility fixes for running MMSeg 1.x on current torch, with or without
CUDA. Nothing here runs at import: :func:`mmseg_wsss.utils.setup_env` applies
them (the tools, the test suite and :class:`~mmseg_wsss.engine.WSSSRunner`
call it).

* **Checkpoints (torch >= 2.6).** ``torch.load`` defaults to
  ``weights_only=True``; mmengine checkpoints hold a ``MessageHub`` state with
  ``HistoryBuffer`` objects and numpy arrays/scalars, so ``resume=True`` fails.
  The exact globals those objects need are allow-listed (nothing broader),
  and ``HistoryBuffer`` no longer pickles its statistics functions (saved as
  ``getattr(HistoryBuffer, 'min')``: allow-listing ``getattr`` would let a
  checkpoint reach ``builtins``). They are class-level registrations that
  ``HistoryBuffer.__setstate__`` restores anyway.
* **Distributed on CPU** needs no patch: :class:`~mmseg_wsss.engine.WSSSRunner`
  initialises the process group with ``gloo`` when CUDA is absent, and
  :class:`~mmseg_wsss.engine.WSSSDistributedDataParallel` drops the
  ``device_ids`` that DDP rejects for CPU modules.
* **mmcv without compiled ops** (``mmcv-lite``, or a build without
  ``MMCV_WITH_OPS=1``) gets a clear error instead of a deep import failure.
"""
import numpy as np
import torch

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
