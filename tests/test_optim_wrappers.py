"""BF16OptimWrapper: bfloat16 autocast in training only, float32 state."""
import pytest
import torch
import torch.nn as nn
from mmseg.registry import OPTIM_WRAPPERS

from mmseg_wsss.engine import BF16OptimWrapper, bf16_is_fast


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def _wrapper(model, enabled):
    return OPTIM_WRAPPERS.build(
        dict(type='BF16OptimWrapper', enabled=enabled,
             optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


@pytest.mark.parametrize('enabled', [True, False])
def test_autocast_inside_the_context_only(enabled):
    torch.manual_seed(0)
    model = _Net()
    wrapper = _wrapper(model, enabled)
    x = torch.randn(2, 3, 8, 8)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == (torch.bfloat16 if enabled else torch.float32)
    # outside it (validation, test) the same model computes in float32
    assert model(x).dtype == torch.float32
    before = model.conv.weight.detach().clone()
    loss = out.float().square().mean()
    wrapper.update_params(loss)
    # parameters, gradients and the SGD update stay float32
    assert model.conv.weight.dtype == torch.float32
    assert model.conv.weight.grad is None or \
        model.conv.weight.grad.dtype == torch.float32
    assert not torch.equal(before, model.conv.weight)


def test_bf16_step_follows_the_fp32_step():
    """Same start, same batch: the bfloat16 step moves the weights as the
    float32 step does, to bfloat16's precision (8 mantissa bits)."""
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    deltas = {}
    for enabled in (False, True):
        torch.manual_seed(0)
        model = _Net()
        before = model.conv.weight.detach().clone()
        wrapper = _wrapper(model, enabled)
        with wrapper.optim_context(model):
            loss = model(x).float().square().mean()
        wrapper.update_params(loss)
        deltas[enabled] = model.conv.weight.detach() - before
    scale = deltas[False].abs().max()
    assert scale > 1e-3
    torch.testing.assert_close(deltas[True], deltas[False], rtol=0.05,
                               atol=0.02 * scale)
    assert not torch.equal(deltas[True], deltas[False])


def test_auto_follows_the_device_and_bad_value_is_refused():
    model = _Net()
    wrapper = _wrapper(model, 'auto')
    with wrapper.optim_context(model):
        out = model(torch.randn(1, 3, 4, 4))
    fast = bf16_is_fast('cpu')
    assert out.dtype == (torch.bfloat16 if fast else torch.float32)
    with pytest.raises(ValueError, match="enabled must be True, False or"):
        BF16OptimWrapper(enabled='yes',
                         optimizer=torch.optim.SGD(model.parameters(), 0.1))
