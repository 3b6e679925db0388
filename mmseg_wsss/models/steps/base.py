"""Method-specific steps of a training batch, between the network's output
and the weak losses."""
from typing import Dict, Tuple

from mmengine.model import BaseModule
from torch import Tensor


class WeakStep(BaseModule):
    """A named computation a :class:`WSSSEncoderDecoder` runs on a
    :class:`WeakBatch` when a loss first asks for one of its ``outputs``
    (a step nobody reads never runs).

    Subclasses set ``outputs`` (batch items produced in training) and
    ``test_outputs`` (``test_cfg.output`` values they answer at inference,
    through :meth:`predict`), may adapt to the segmentor in :meth:`bind`
    and implement :meth:`forward`.
    """
    outputs: Tuple[str, ...] = ()
    test_outputs: Tuple[str, ...] = ()

    def bind(self, segmentor) -> None:
        """Called once by the segmentor that owns the step."""

    def forward(self, batch) -> Dict[str, Tensor]:
        raise NotImplementedError

    def predict(self, output: str, feats, rgb: Tensor,
                seg_logits: Tensor) -> Tensor:
        """Test-time ``seg_logits`` replacement for ``test_cfg.output``."""
        raise NotImplementedError
