"""Run one of MMSeg's own tools (shipped in ``mmseg/.mim/tools``) with
mmseg_wsss registered and its environment set up, so our tools have exactly
MMSeg's command line; likewise MMDet's (``mmdet/.mim/tools``) for the
detector of the panoptic configs."""
import argparse
import importlib
import os.path as osp
import runpy
import sys

from mmseg_wsss.utils import register_all_modules, setup_env


def _launcher(argv: list) -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--launcher', default='none')
    return parser.parse_known_args(argv)[0].launcher


def check_data(argv: list, splits: tuple) -> None:
    """The full dataset check of ``check_dataset.py`` on the datasets of the
    config in ``argv`` (MMSeg's tool arguments, ``--cfg-options``
    applied); exits with the error of the first bad sample."""
    from mmengine.config import Config, DictAction

    from mmseg_wsss.datasets import WeakAnnotationError
    from mmseg_wsss.datasets.check import check_config_datasets
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_known_args(argv)[0]
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        check_config_datasets(cfg, splits)
    except WeakAnnotationError as e:
        sys.exit(f'\ndataset check: {e}')


def run(name: str, init_dist: bool = False, package: str = 'mmseg') -> None:
    """Run ``<package>/.mim/tools/<name>`` after :func:`setup_env` (and,
    for MMSeg, :func:`register_all_modules`).

    Args:
        name (str): The tool's file name.
        init_dist (bool): Initialise the process group of a CPU
            ``--launcher pytorch`` run here (gloo, see
            :func:`mmseg_wsss.engine.init_cpu_dist`), for tools that build
            mmengine's plain ``Runner`` (MMSeg's ``test.py``) rather than the
            config's ``runner_type``, which does it itself.
        package (str): ``'mmseg'``, or ``'mmdet'`` for MMDet's tools, whose
            configs (``default_scope='mmdet'``) need nothing of
            mmseg_wsss registered: the runner imports MMDet's modules.
    """
    module = importlib.import_module(package)
    path = osp.join(osp.dirname(module.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        sys.exit(f'{path} is missing: {package} was installed without its '
                 'tools (install the PyPI wheel)')
    if package == 'mmseg':
        # the runner sets the default scope from the config
        register_all_modules(init_default_scope=False)
    setup_env()
    if init_dist:
        from mmseg_wsss.engine import init_cpu_dist
        init_cpu_dist(_launcher(sys.argv[1:]), {})
    sys.argv[0] = path
    runpy.run_path(path, run_name='__main__')
