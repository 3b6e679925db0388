"""mmseg_wsss: weakly-supervised semantic segmentation for MMSegmentation 1.x.

Importing the package applies the compatibility fixes (see
:mod:`mmseg_wsss.utils.compat`) and registers every component into MMSeg's
registries; configs load it with
``custom_imports = dict(imports=['mmseg_wsss'], allow_failed_imports=False)``.
"""
from .utils import compat

compat.apply_all()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401,E501

__version__ = '0.1.0'
