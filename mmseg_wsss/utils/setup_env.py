"""Explicit set-up, as MMSeg's :func:`mmseg.utils.register_all_modules`.

Importing :mod:`mmseg_wsss` (or any submodule) changes nothing in the
process. What a run needs is done by two calls:

* :func:`register_all_modules` imports MMSeg's and this package's
  components so that they are in MMSeg's registries (configs do the same
  through ``custom_imports``, see ``configs/_base_/wsss_runtime.py``);
* :func:`setup_env` applies the compatibility fixes of
  :mod:`mmseg_wsss.utils.compat` (once per process).

``tools/`` and the test suite call both; :class:`~mmseg_wsss.engine.WSSSRunner`
(``runner_type`` of every config here) calls :func:`setup_env`, so runs
launched through MMSeg's own ``tools/train.py`` (``mim train``) get the
fixes too.

The heavy imports (torch, mmengine, mmseg) happen inside the functions:
this module is cheap to import.
"""

# What ``custom_imports`` of configs/_base_/wsss_runtime.py lists: importing
# these registers every component (and applies nothing).
REGISTRATION_MODULES = ('mmseg_wsss.datasets', 'mmseg_wsss.engine',
                        'mmseg_wsss.evaluation', 'mmseg_wsss.models',
                        'mmseg_wsss.visualization')

_ENV_READY = False


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register MMSeg's and mmseg_wsss's components into MMSeg's registries.

    Args:
        init_default_scope (bool): Also make ``'mmseg'`` the default scope,
            as :func:`mmseg.utils.register_all_modules` does (the runner sets
            it from ``default_scope`` of the config anyway). Defaults to
            True.

    Raises:
        ImportError: mmcv lacks its compiled ops (with install instructions).
    """
    import importlib

    from .compat import check_mmcv_ops
    check_mmcv_ops()  # MMSeg imports mmcv.ops: fail with the hint first

    from mmseg.utils import register_all_modules as mmseg_register
    mmseg_register(init_default_scope=False)
    for name in REGISTRATION_MODULES:
        importlib.import_module(name)
    if init_default_scope:
        from mmengine.registry import init_default_scope as init_scope
        init_scope('mmseg')


def setup_env() -> None:
    """Apply the compatibility fixes of :mod:`mmseg_wsss.utils.compat`;
    idempotent.

    * mmcv without compiled ops: a clear ``ImportError`` with install
      instructions;
    * torch >= 2.6 (``weights_only`` checkpoint loading): the globals an
      mmengine checkpoint needs are allow-listed and ``HistoryBuffer`` no
      longer pickles its statistics functions, so ``--resume`` works.

    Distributed runs without CUDA need no patch:
    :class:`~mmseg_wsss.engine.WSSSRunner` initialises gloo itself.
    """
    global _ENV_READY
    if _ENV_READY:
        return
    from . import compat
    compat.check_mmcv_ops()
    compat.allow_checkpoint_globals()
    _ENV_READY = True
