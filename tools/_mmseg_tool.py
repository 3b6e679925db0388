"""Run one of MMSeg's own tools (shipped in ``mmseg/.mim/tools``) with
mmseg_wsss registered, so our tools have exactly MMSeg's command line."""
import os.path as osp
import runpy
import sys

import mmseg

import mmseg_wsss  # noqa: F401  (registers components, applies compat fixes)


def run(name: str) -> None:
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        sys.exit(f'{path} is missing: mmsegmentation was installed without '
                 'its tools (install the PyPI wheel)')
    sys.argv[0] = path
    runpy.run_path(path, run_name='__main__')
