"""DDP wrapper that also wraps CPU modules (distributed training over gloo
without CUDA); ``configs/_base_/wsss_runtime.py`` selects it."""
from typing import Optional

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class WSSSDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    mmengine's runner always passes ``device_ids=[LOCAL_RANK]``, which DDP
    rejects for a module on the CPU; they are dropped there.
    """

    def __init__(self,
                 module: torch.nn.Module,
                 device_ids: Optional[list] = None,
                 **kwargs) -> None:
        param = next(module.parameters(), None)
        if param is not None and param.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
