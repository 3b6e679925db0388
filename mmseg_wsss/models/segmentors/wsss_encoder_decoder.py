"""EncoderDecoder with one loss path for every weakly-supervised method."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from mmseg_wsss.datasets.annotations import ANNOTATIONS
from ..losses.weak_losses import WeakLoss
from ..utils.crf import crf_probs
from .weak_batch import WeakBatch


def _label_losses(head: nn.Module) -> List[nn.Module]:
    """A head's ``loss_decode`` as a list."""
    losses = head.loss_decode
    return list(losses) if isinstance(losses, nn.ModuleList) else [losses]


@MODELS.register_module()
class WSSSEncoderDecoder(EncoderDecoder):
    """MMSeg's ``EncoderDecoder`` trained by weak losses, on any backbone,
    neck and decode head.

    One :meth:`loss` serves every method: the features and the decode
    head's logits are computed once and wrapped in a :class:`WeakBatch`
    (which also upsamples them, takes their softmax and reads targets on
    first use), then

    1. the decode (and auxiliary) heads' own ``loss_decode`` train on
       ``gt_sem_seg`` exactly as in MMSeg - e.g. partial cross-entropy when
       ``PackWeakSegInputs(target='scribble')`` packs the scribbles - or on
       ``label_target`` (a step output such as DSRG's grown labels);
    2. every loss of ``loss_weak`` (:mod:`~mmseg_wsss.models.losses.
       weak_losses`) adds its term; a loss reads a registered annotation or
       the output of one of ``steps`` (:mod:`mmseg_wsss.models.steps`),
       which runs only when read.

    Nothing configured goes unused: a weak loss reading something neither
    registered nor produced, or a step whose outputs nothing reads (and
    that gives no test output), fails when the model is built; a head
    ``loss_decode`` with no label to train on (``target=None`` packing and
    no ``label_target``) fails at the first batch - give the head
    ``loss_decode=[]`` when only ``loss_weak`` trains it.

    :attr:`current_supervision` holds the labels the last training batch
    was trained on, when a step produced them (one unpadded ``(h, w)`` map
    per sample), for :class:`SupervisionQualityHook`.

    Test time: MMSeg's inference, plus

    * ``test_cfg.output``: ``'seg'`` (default) or a step's test output
      (``'cluster'`` of :class:`CentroidBranch`);
    * ``test_cfg.crf``: ``True`` (the defaults of
      :func:`~mmseg_wsss.algorithms.crf.dense_crf`) or a dict of its
      arguments refines every softmax with a dense CRF on the input image
      (``--cfg-options model.test_cfg.crf=True``).

    Args:
        loss_weak (list[dict]): Weak loss configs. Defaults to none.
        steps (list[dict]): Step configs. Defaults to none.
        label_target (str, optional): A step output the heads'
            ``loss_decode`` train on instead of ``gt_sem_seg``.
        **kwargs: ``EncoderDecoder``'s.
    """

    def __init__(self,
                 *args,
                 loss_weak: Optional[List[dict]] = None,
                 steps: Optional[List[dict]] = None,
                 label_target: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_weak = nn.ModuleList(
            [MODELS.build(cfg) for cfg in loss_weak or []])
        self.steps = nn.ModuleList([MODELS.build(cfg) for cfg in steps or []])
        for step in self.steps:
            step.bind(self)
        self.label_target = label_target
        self.current_supervision: Optional[List[Tensor]] = None
        self._check_configuration()

    def _check_configuration(self) -> None:
        produced = {name for step in self.steps for name in step.outputs}
        read = {self.label_target} - {None}
        for loss in self.loss_weak:
            if not isinstance(loss, WeakLoss):
                raise TypeError(f'model.loss_weak takes weak losses, got '
                                f'{type(loss).__name__}: MMSeg label losses '
                                'go in decode_head.loss_decode')
            loss.check(self.decode_head)
            read.update(loss.reads())
        for name in sorted(read - produced - set(ANNOTATIONS)):
            raise ValueError(
                f'{name!r} is read by a loss but is neither an annotation '
                f'({sorted(ANNOTATIONS)}) nor the output of a step in '
                'model.steps')
        for step in self.steps:
            if not read & set(step.outputs) and not step.test_outputs:
                raise ValueError(
                    f'{type(step).__name__} produces {list(step.outputs)}, '
                    'which no loss in model.loss_weak reads')
        output = (self.test_cfg or {}).get('output', 'seg')
        if output != 'seg':
            self._test_step(output)

    def _test_step(self, output: str) -> nn.Module:
        for step in self.steps:
            if output in step.test_outputs:
                return step
        available = ['seg'] + [o for s in self.steps for o in s.test_outputs]
        raise ValueError(f'test_cfg.output={output!r}: choose one of '
                         f'{available}')

    def rgb(self, inputs: Tensor) -> Tensor:
        """Un-normalised input image (N, 3, H, W) in [0, 255]."""
        pre = self.data_preprocessor
        if getattr(pre, '_enable_normalize', False):
            inputs = inputs * pre.std + pre.mean
        return inputs.clamp(0, 255)

    @staticmethod
    def valid_mask(inputs: Tensor, data_samples: SampleList) -> Tensor:
        """(N, H, W) bool: True where a pixel is not batch padding."""
        n, _, h, w = inputs.shape
        mask = inputs.new_zeros((n, h, w), dtype=torch.bool)
        for i, sample in enumerate(data_samples):
            img_h, img_w = sample.metainfo.get('img_shape', (h, w))[:2]
            mask[i, :img_h, :img_w] = True
        return mask

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The heads' label losses plus every weak loss (see the class)."""
        return self.batch_losses(
            WeakBatch(self, inputs, data_samples, self.extract_feat(inputs)))

    def batch_losses(self, batch: WeakBatch) -> dict:
        """:meth:`loss` of a :class:`WeakBatch` (subclasses add terms)."""
        losses = self.label_losses(batch)
        for loss in self.loss_weak:
            if loss.loss_weight:
                value = loss(batch)
                losses[loss.loss_name] = losses.get(loss.loss_name, 0) + value
        if not losses:
            raise ValueError('nothing trains the model: configure '
                             'decode_head.loss_decode and/or model.loss_weak')
        self.current_supervision = self._supervision(batch)
        return losses

    def _heads(self) -> List[nn.Module]:
        return [self.decode_head] + ([self.auxiliary_head]
                                     if self.with_auxiliary_head else [])

    def label_losses(self, batch: WeakBatch) -> Dict[str, Tensor]:
        """The decode and auxiliary heads' ``loss_decode`` (MMSeg's
        ``loss_by_feat``) on ``gt_sem_seg`` or on ``label_target``."""
        heads = [h for h in self._heads() if _label_losses(h)]
        if not heads:
            return {}
        samples = batch.data_samples
        if self.label_target is not None:
            samples = [s.clone() for s in samples]
            for sample, label in zip(samples,
                                     batch.get(self.label_target)):
                sample.gt_sem_seg = PixelData(data=label[None])
        elif not all('gt_sem_seg' in s for s in samples):
            names = [type(m).__name__ for h in heads
                     for m in _label_losses(h)]
            raise ValueError(
                f'the heads\' loss_decode ({names}) train on gt_sem_seg, '
                'which the batch lacks (PackWeakSegInputs(target=None)): '
                'pack a target, or set loss_decode=[] when model.loss_weak '
                'trains the model')
        losses = {}
        if _label_losses(self.decode_head):
            losses.update({
                f'decode.{k}': v
                for k, v in self.decode_head.loss_by_feat(
                    batch.seg_logits, samples).items()
            })
        if self.with_auxiliary_head and _label_losses(self.auxiliary_head):
            losses.update(self._auxiliary_head_forward_train(
                batch.feats, samples))
        return losses

    def _supervision(self, batch: WeakBatch) -> Optional[List[Tensor]]:
        """The unpadded label maps of the first active weak loss that reads
        a step's labels, when the heads do not train on ``gt_sem_seg``."""
        if self.label_target is None and any(
                _label_losses(h) for h in self._heads()):
            return None
        names = [self.label_target] + [
            loss.target for loss in self.loss_weak
            if loss.reads_labels and loss.loss_weight
        ]
        name = next((n for n in names if n is not None), None)
        if name is None:
            return None
        labels = batch.get(name)
        return [
            label[:h, :w].cpu() for label, (h, w) in zip(labels, [
                s.metainfo.get('img_shape', labels.shape[-2:])[:2]
                for s in batch.data_samples
            ])
        ]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Segmentation logits, or a step's ``test_cfg.output``."""
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.predict(x, batch_img_metas,
                                              self.test_cfg)
        output = (self.test_cfg or {}).get('output', 'seg')
        if output == 'seg':
            return seg_logits
        return self._test_step(output).predict(output, x, self.rgb(inputs),
                                               seg_logits)

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """MMSeg's inference; with ``test_cfg.crf`` the softmax is refined by
        a dense CRF and returned as log-probabilities."""
        seg_logits = super().inference(inputs, batch_img_metas)
        crf_cfg = (self.test_cfg or {}).get('crf')
        if crf_cfg is None or crf_cfg is False:
            return seg_logits
        if crf_cfg is True:
            crf_cfg = {}
        elif not isinstance(crf_cfg, dict):
            raise TypeError('test_cfg.crf must be True, False, None or a dict '
                            f'of dense_crf arguments, got {crf_cfg!r}')
        probs = crf_probs(self.rgb(inputs), seg_logits.softmax(1), crf_cfg)
        return probs.clamp_min(1e-8).log()
