"""The weakly-supervised losses, registered in MMSeg's ``MODELS``.

A segmentor (:class:`~mmseg_wsss.models.WSSSEncoderDecoder`) lists them in
``loss_weak`` as MMSeg lists ``loss_decode``::

    loss_weak=[
        dict(type='CentroidLoss', target='scribble', loss_weight=1.0),
        dict(type='CentroidMSELoss', loss_weight=1.0),
    ]

Each reads its ``target`` - a registered annotation
(:mod:`mmseg_wsss.datasets.annotations`: ``'scribble'``, ``'points'``,
``'pseudo'``, ``'tags'``, ``'proportions'``, ...) or the output of a step
(``'grown'`` of :class:`~mmseg_wsss.models.steps.SeededRegionGrowing`) -
and whatever else it ``needs`` (``'features'``, ``'centroids'``) from the
:class:`~mmseg_wsss.models.segmentors.weak_batch.WeakBatch`, and returns
``loss_weight`` times its value under ``loss_name``. A loss with
``loss_weight=0`` is skipped (it still declares what it reads). The maths
is in :mod:`.functional` and :mod:`.proportion_losses`.
"""
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.crf import crf_probs
from .functional import (balanced_seed_loss, centroid_loss, centroid_mse_loss,
                         constrain_loss, expand_loss, scribble_size_bounds,
                         seed_loss, size_loss)
from .proportion_losses import keypoint_bce_loss, masked_gap, proportion_loss


class WeakLoss(nn.Module):
    """Base class: a weighted, named loss on a :class:`WeakBatch`.

    Subclasses set ``needs`` (batch outputs besides the target), whether
    their target is a label map (``reads_labels``: the map is then the
    batch's "current supervision"), and implement :meth:`compute`.

    Args:
        target (str, optional): The annotation or step output read.
        loss_weight (float): Multiplies the value; 0 skips the loss.
        loss_name (str): Key of the value in the loss dict.
    """
    needs: Tuple[str, ...] = ()
    reads_labels = False

    def __init__(self, target: Optional[str], loss_weight: float,
                 loss_name: str) -> None:
        super().__init__()
        self.target = target
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def reads(self) -> Tuple[str, ...]:
        """Every batch item the loss reads."""
        return ((self.target, ) if self.target else ()) + self.needs

    def check(self, decode_head: nn.Module) -> None:
        """Raise if the loss cannot train ``decode_head``'s output."""

    def compute(self, batch) -> Tensor:
        raise NotImplementedError

    def forward(self, batch) -> Tensor:
        return self.loss_weight * self.compute(batch)

    def extra_repr(self) -> str:
        return (f'target={self.target!r}, loss_weight={self.loss_weight}, '
                f'loss_name={self.loss_name!r}')


class _SoftmaxLoss(WeakLoss):
    """A loss on the softmax of a multi-class head."""

    def check(self, decode_head: nn.Module) -> None:
        if decode_head.out_channels < 2:
            raise ValueError(f'{type(self).__name__} needs a softmax decode '
                             'head (out_channels = num_classes >= 2)')


def _labelled_images(batch, target: str) -> Tuple[Tensor, Tensor, Tensor]:
    """``(probs, labels, keep)`` of the images with at least one labelled
    pixel of ``target``: a crop that lost its scribbles says nothing about
    which classes it holds, so it must not count as "every class absent".
    """
    labels = batch.get(target)
    keep = (labels != batch.ignore_index).flatten(1).any(1)
    return batch.probs[keep], labels[keep], keep


@MODELS.register_module()
class CentroidLoss(WeakLoss):
    """``L_cen`` of the Centroid Loss paper (eqs. 3-5): cross-entropy of
    the softmax of the negative normalised distances of each pixel's
    features to the class centroids, on the labelled pixels of ``target``
    (the scribbles). Needs :class:`~mmseg_wsss.models.steps.CentroidBranch`.
    """
    needs = ('features', 'centroids')
    reads_labels = True

    def __init__(self, target: str = 'scribble', loss_weight: float = 1.0,
                 loss_name: str = 'loss_cen') -> None:
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        return centroid_loss(batch.get('features'), batch.get('centroids'),
                             batch.get(self.target), batch.ignore_index)


@MODELS.register_module()
class CentroidMSELoss(WeakLoss):
    """``L_mse`` of the Centroid Loss paper (eq. 6): the mean normalised
    distance of every non-padding pixel to the centroid of its predicted
    class. Needs :class:`~mmseg_wsss.models.steps.CentroidBranch`."""
    needs = ('features', 'centroids')

    def __init__(self, loss_weight: float = 1.0,
                 loss_name: str = 'loss_mse') -> None:
        super().__init__(None, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        return centroid_mse_loss(batch.get('features'),
                                 batch.get('centroids'), batch.logits,
                                 batch.valid)


@MODELS.register_module()
class SeedLoss(_SoftmaxLoss):
    """SEC's seed loss on the label map ``target`` (seeds, scribbles):
    ``-log p_c`` averaged over each image's labelled pixels, then over the
    images (:func:`~.functional.seed_loss`)."""
    reads_labels = True

    def __init__(self, target: str = 'pseudo', loss_weight: float = 1.0,
                 loss_name: str = 'loss_seed') -> None:
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        return seed_loss(batch.probs, batch.get(self.target),
                         batch.ignore_index)


@MODELS.register_module()
class BalancedSeedLoss(SeedLoss):
    """The balanced seeding loss of DSRG (eq. 1): foreground and
    ``bg_index`` seeds of ``target`` averaged separately. ``bg_index=None``
    (no background class): every class is foreground and eq. (1) keeps its
    first term, i.e. :class:`SeedLoss`."""

    def __init__(self, target: str = 'pseudo', bg_index: Optional[int] = 0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_seed') -> None:
        super().__init__(target, loss_weight, loss_name)
        self.bg_index = bg_index

    def compute(self, batch) -> Tensor:
        if self.bg_index is None:
            return super().compute(batch)
        return balanced_seed_loss(batch.probs, batch.get(self.target),
                                  batch.ignore_index, self.bg_index)


@MODELS.register_module()
class ConstrainLoss(_SoftmaxLoss):
    """SEC's constrain (boundary) loss: ``KL(CRF(p) || p)`` between the
    head's softmax ``p`` at its own resolution (shrunk so that its longer
    side is at most ``size``, as SEC does on its coarse output) and its
    dense-CRF refinement on the image (Centroid Loss eq. 13; DSRG eq. 2).

    Args:
        crf (dict, optional): Arguments of
            :func:`~mmseg_wsss.algorithms.crf.dense_crf`.
        size (int, optional): Longest side for the CRF; ``None``: as is.
    """

    def __init__(self, crf: Optional[dict] = None, size: Optional[int] = 64,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_constrain') -> None:
        super().__init__(None, loss_weight, loss_name)
        self.crf = crf or {}
        self.size = size

    def compute(self, batch) -> Tensor:
        logits = batch.seg_logits
        if self.size:
            scale = self.size / max(logits.shape[-2:])
            if scale < 1:
                logits = nn.functional.interpolate(
                    logits, scale_factor=scale, mode='bilinear',
                    align_corners=False)
        probs = logits.softmax(1)
        return constrain_loss(probs, crf_probs(batch.rgb, probs, self.crf))


@MODELS.register_module()
class ProportionLoss(WeakLoss):
    """``L_sp`` of SPSS (eq. 1): squared error between the image's class
    proportions (``target``) and the GAP of the class maps over its
    non-padding pixels. For one sigmoid map only the foreground proportion
    is compared."""

    def __init__(self, target: str = 'proportions', loss_weight: float = 1.0,
                 loss_name: str = 'loss_sp') -> None:
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        pred = masked_gap(batch.probs, batch.valid)
        target = batch.get(self.target).to(pred)
        if batch.logits.shape[1] == 1:
            pred, target = pred[:, 1:], target[:, 1:]
        return proportion_loss(pred, target)


@MODELS.register_module()
class KeypointBCELoss(WeakLoss):
    """``L_sk`` of SPSS+ (eqs. 2-3): binary cross-entropy of each class map
    at that class's keypoints (``target``)."""
    reads_labels = True

    def __init__(self, target: str = 'points', loss_weight: float = 1.0,
                 loss_name: str = 'loss_sk') -> None:
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        return keypoint_bce_loss(batch.log_probs, batch.get(self.target),
                                 batch.ignore_index)


@MODELS.register_module()
class SizeLoss(_SoftmaxLoss):
    """``L_C(V_S)`` of eq. (12) of the Centroid Loss paper (Kervadec et
    al.) with size bounds from the scribbles (``target``,
    :func:`~.functional.scribble_size_bounds`); the paper's weight is 1e-3.
    Averaged over the images with scribble pixels (0 without any).
    """
    reads_labels = True

    def __init__(self, target: str = 'scribble', loss_weight: float = 1e-3,
                 loss_name: str = 'loss_size') -> None:
        super().__init__(target, loss_weight, loss_name)

    def compute(self, batch) -> Tensor:
        probs, labels, keep = _labelled_images(batch, self.target)
        if not keep.any():
            return batch.probs.sum() * 0
        bounds = scribble_size_bounds(labels, probs.shape[1],
                                      batch.ignore_index)
        return size_loss(probs, bounds)


@MODELS.register_module()
class SECSeedExpandLoss(_SoftmaxLoss):
    """SEC's seed + expand terms (eq. 13 of the Centroid Loss paper): the
    seed loss on the scribbles (``target``), the expand loss (global
    weighted rank pooling) on the image labels the scribbles imply (classes
    with at least one scribble pixel), over the images with scribble pixels
    (0 without any). With :class:`ConstrainLoss` it is SEC."""
    reads_labels = True

    def __init__(self, target: str = 'scribble', q_fg: float = 0.996,
                 q_bg: float = 0.999, bg_index: Optional[int] = 0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_sec') -> None:
        super().__init__(target, loss_weight, loss_name)
        self.q_fg, self.q_bg, self.bg_index = q_fg, q_bg, bg_index

    def compute(self, batch) -> Tensor:
        probs, labels, keep = _labelled_images(batch, self.target)
        if not keep.any():
            return batch.probs.sum() * 0
        bounds = scribble_size_bounds(labels, probs.shape[1],
                                      batch.ignore_index)
        return (seed_loss(probs, labels, batch.ignore_index) +
                expand_loss(probs, bounds[..., 0] > 0, self.q_fg, self.q_bg,
                            self.bg_index))


@MODELS.register_module()
class RelaxedBoundaryLoss(WeakLoss):
    """The relaxed boundary classification loss of BES (eq. 4) for a
    one-channel boundary head (:class:`~mmseg_wsss.models.BENetHead`):

    ``L_B = - sum_{bry} W_i log P_i / |Phi_bry| - 1/2 (sum_{fg} log(1 - P_i)
    / |Phi_c| + sum_{bg} log(1 - P_i) / |Phi_bg|)``

    with ``P`` the boundary probability (sigmoid of the logit, at the input
    size) and the three pixel sets read from ``target``, the synthesized
    region map (``mmseg_wsss.algorithms.boundaries``: 2 = boundary, 1 =
    foreground and 0 = background non-boundary, 255 = uncertain), each
    pooled over the batch. A set without pixels contributes 0.

    ``W_i = sqrt(P_i)`` relaxes boundary labels the network finds unlikely.
    It is a weight, detached by default (``weight_grad=False``): with its
    gradient, ``-sqrt(P) log P`` decreases as ``P`` falls below ``e^-2``,
    so the boundary term would push low boundary probabilities further
    down, against what the term asks for.

    Args:
        target (str): The region-map annotation. Defaults to 'boundary'.
        weight_grad (bool): Back-propagate through ``W_i`` as well.
    """
    reads_labels = True

    def __init__(self, target: str = 'boundary', weight_grad: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_boundary') -> None:
        super().__init__(target, loss_weight, loss_name)
        self.weight_grad = weight_grad

    def check(self, decode_head: nn.Module) -> None:
        if decode_head.out_channels != 1:
            raise ValueError('RelaxedBoundaryLoss trains a one-channel '
                             'boundary head (out_channels=1, e.g. BENetHead)')

    def compute(self, batch) -> Tensor:
        regions = batch.get(self.target)
        logits = batch.logits[:, 0]
        prob = logits.sigmoid()
        weight = prob.sqrt() if self.weight_grad else prob.sqrt().detach()

        def set_mean(values: Tensor, members: Tensor) -> Tensor:
            members = members & batch.valid
            return (values * members).sum() / members.sum().clamp_min(1)

        boundary = set_mean(-weight * F.logsigmoid(logits), regions == 2)
        not_boundary = -F.logsigmoid(-logits)
        return boundary + 0.5 * (set_mean(not_boundary, regions == 1) +
                                 set_mean(not_boundary, regions == 0))
