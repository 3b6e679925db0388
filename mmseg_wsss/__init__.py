"""mmseg_wsss: weakly-supervised semantic segmentation for MMSegmentation 1.x.

Importing the package (or any submodule) has no side effect: nothing is
patched and nothing heavy is imported, so :mod:`mmseg_wsss.algorithms` works
with numpy, scipy and scikit-image alone. Components register into MMSeg's
registries when their subpackages are imported: configs list them in
``custom_imports`` (see ``configs/_base_/wsss_runtime.py``), scripts call
:func:`mmseg_wsss.utils.register_all_modules`, and
:func:`mmseg_wsss.utils.setup_env` applies the compatibility fixes (the
runner of our configs, ``WSSSRunner``, calls it).
"""

__version__ = '0.1.0'
