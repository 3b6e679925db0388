"""Importing the package has no side effect: mmseg_wsss.algorithms needs no
framework, and registration imports patch nothing until setup_env()."""
import os
import os.path as osp
import subprocess
import sys

from conftest import REPO

ALGORITHMS = sorted(
    f'mmseg_wsss.algorithms.{f[:-3]}'
    for f in os.listdir(osp.join(REPO, 'mmseg_wsss', 'algorithms'))
    if f.endswith('.py') and f != '__init__.py')


def _python(code: str) -> subprocess.CompletedProcess:
    # cwd first on sys.path: this checkout's package, whatever is installed
    return subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True)


def test_algorithms_import_without_frameworks():
    assert 'mmseg_wsss.algorithms.proportions' in ALGORITHMS
    modules = ['mmseg_wsss', 'mmseg_wsss.algorithms', *ALGORITHMS]
    code = ('import sys\n'
            f'import {", ".join(modules)}\n'
            "heavy = [m for m in ('torch', 'mmseg', 'mmcv', 'mmengine', "
            "'mmdet') if m in sys.modules]\n"
            'assert not heavy, heavy\n')
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr


def test_registration_imports_patch_nothing_until_setup_env():
    code = '''
import torch
from mmengine.dist import utils as dist_utils
from mmengine.logging import HistoryBuffer
original_getstate = HistoryBuffer.__getstate__
original_init_dist = dist_utils._init_dist_pytorch

from mmseg_wsss.utils import register_all_modules, setup_env
from mmseg_wsss.utils.setup_env import REGISTRATION_MODULES
import importlib
for name in REGISTRATION_MODULES:
    importlib.import_module(name)
register_all_modules()
assert HistoryBuffer.__getstate__ is original_getstate
assert HistoryBuffer not in torch.serialization.get_safe_globals()
assert dist_utils._init_dist_pytorch is original_init_dist

setup_env()
setup_env()  # idempotent
assert HistoryBuffer.__getstate__ is not original_getstate
assert HistoryBuffer in torch.serialization.get_safe_globals()
assert dist_utils._init_dist_pytorch is original_init_dist
'''
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
