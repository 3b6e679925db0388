"""Small helpers on configs."""
from typing import Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg_wsss.utils import register_all_modules, setup_env


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """The config file ``path`` with ``options`` (``--cfg-options``)
    merged, after :func:`~mmseg_wsss.utils.register_all_modules` and
    :func:`~mmseg_wsss.utils.setup_env` (every tool and tool worker process
    loads its config through here); its default scope (MMSeg's unless it
    says otherwise) becomes the current one."""
    register_all_modules(init_default_scope=False)
    setup_env()
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


def inner_dataset_cfg(cfg: dict) -> dict:
    """The innermost dataset config of ``cfg`` (a data loader or dataset
    config), inside ``RepeatDataset``-style wrappers: the dict to edit in
    place to change the dataset."""
    while 'dataset' in cfg:
        cfg = cfg['dataset']
    return cfg
