"""bfloat16 mixed-precision training on any device, the CPU included."""
from contextlib import contextmanager
from typing import Iterator, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS


def bf16_is_fast(device: Union[str, torch.device]) -> bool:
    """Whether ``device`` computes bfloat16 natively: CPUs with AVX512-BF16
    or AMX (oneDNN's check), GPUs that support it."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    if device.type == 'cpu':
        return (torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that runs the training forward pass and the losses
    under ``torch.autocast(dtype=torch.bfloat16)`` on the model's device.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU and scales
    the loss for float16. bfloat16 keeps float32's exponent range, so no
    loss scaling is needed, and CPUs with AVX512-BF16 or AMX run bfloat16
    convolutions about twice as fast (``bench/bench_profile.py``). Only the
    autocast region changes: parameters, gradients and the optimiser state
    stay float32, the losses autocast computes in float32 (cross entropy,
    ``cdist``, ...) stay float32, and validation and test run in float32
    (they never enter :meth:`optim_context`).

    Args:
        enabled (bool | str): ``True``, ``False`` or ``'auto'`` (default):
            autocast only where bfloat16 is native (:func:`bf16_is_fast`);
            elsewhere it would be emulated and slower than float32.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self, enabled: Union[bool, str] = 'auto', **kwargs) -> None:
        super().__init__(**kwargs)
        if enabled not in (True, False, 'auto'):
            raise ValueError(
                f"BF16OptimWrapper: enabled must be True, False or 'auto', "
                f'got {enabled!r}')
        self.enabled = enabled
        self._device_enabled = {}

    def _enabled_on(self, device: torch.device) -> bool:
        if self.enabled != 'auto':
            return self.enabled
        if device.type not in self._device_enabled:
            on = bf16_is_fast(device)
            self._device_enabled[device.type] = on
            print_log(
                f'BF16OptimWrapper: bfloat16 autocast {"on" if on else "off"}'
                f' ({device.type} {"computes" if on else "lacks"} native '
                'bfloat16)', logger='current')
        return self._device_enabled[device.type]

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device = next(model.parameters()).device
        with super().optim_context(model), torch.autocast(
                device.type, dtype=torch.bfloat16,
                enabled=self._enabled_on(device)):
            yield
