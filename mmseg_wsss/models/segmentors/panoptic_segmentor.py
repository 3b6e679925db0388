"""Weakly- and semi-supervised panoptic segmentation (Li, Arnab and Torr,
ECCV 2018, §3.5, Fig. 5): a semantic subnetwork whose probabilities Q are
partitioned into instances by the instance CRF over detections."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from mmseg_wsss.algorithms.panoptic import connected_component_instances
from .weak_batch import WeakBatch
from .wsss_encoder_decoder import WSSSEncoderDecoder


@MODELS.register_module()
class PanopticSegmentor(WSSSEncoderDecoder):
    """Semantic subnetwork (any MMSeg backbone and decode head, trained as
    :class:`WSSSEncoderDecoder`: cross-entropy on the approximate ground
    truth, eq. 1) + :class:`~mmseg_wsss.models.decode_heads.
    InstanceCRFHead`.

    Training in two stages, as the paper: stage 1 trains the semantic
    subnetwork alone (a plain ``WSSSEncoderDecoder`` config); stage 2 is
    this segmentor, loading stage 1's weights (``load_from``), fine-tuning
    everything end to end with the instance loss added
    (``instance_loss_weight``): cross-entropy of the instance marginals
    against the ground-truth (or pseudo) instances matched to the
    prediction. Its samples carry ``detections`` (the ``detections``
    annotation: a cached detection file, or the ground-truth boxes) and
    ``gt_inst_seg`` (the ``inst_map`` annotation); the instance target of a
    pixel is its thing instance, or its stuff class (one instance per stuff
    class, as the dummy detections), ignored where the semantic target is
    ignored or a thing pixel has no instance.

    Test time: the semantic probabilities at the original image size, then
    ``test_cfg.instances``:

    * ``'crf'`` (default): the instance CRF over the sample's
      ``detections`` plus one dummy per stuff class; every pixel takes the
      instance of largest marginal, ``pred_sem_seg`` its class and
      ``pred_inst_seg`` its id (1.. for detections, 0 for stuff);
    * ``'components'``: the detector-free baseline, connected components
      of each thing class of the semantic arg-max.

    ``pred_instances`` holds the thing instances (masks, classes, scores:
    the detection's, or the mean class probability over the mask) for
    :class:`~mmseg_wsss.evaluation.InstanceAPMetric`.

    An image without detections gets only stuff segments.

    Args:
        instance_head (dict): The instance CRF head config.
        thing_classes (Sequence[int]): Class ids of "things"; the others
            (below ``num_classes``) are "stuff".
        instance_loss_weight (float): Weight of the instance loss; 0
            trains the semantic subnetwork only.
    """

    def __init__(self,
                 *args,
                 instance_head: dict,
                 thing_classes: Sequence[int],
                 instance_loss_weight: float = 1.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance_head = MODELS.build(instance_head)
        self.thing_classes = [int(c) for c in thing_classes]
        num_classes = self.decode_head.num_classes
        bad = [c for c in self.thing_classes if not 0 <= c < num_classes]
        if bad:
            raise ValueError(f'thing_classes {bad} outside the decode '
                             f'head\'s {num_classes} classes')
        self.stuff_classes = [c for c in range(num_classes)
                              if c not in set(self.thing_classes)]
        self.instance_loss_weight = instance_loss_weight
        mode = (self.test_cfg or {}).get('instances', 'crf')
        if mode not in ('crf', 'components'):
            raise ValueError("test_cfg.instances must be 'crf' or "
                             f"'components', got {mode!r}")

    # ------------------------------------------------------------ training
    def batch_losses(self, batch: WeakBatch) -> dict:
        losses = super().batch_losses(batch)
        if self.instance_loss_weight:
            samples = batch.data_samples
            marginals = self.instance_head(
                batch.probs, batch.rgb,
                [self.detections_of(s) for s in samples],
                self.stuff_classes)
            targets = [self.instance_target(s) for s in samples]
            losses['loss_instance'] = self.instance_loss_weight * \
                self.instance_head.loss(marginals, targets)
        return losses

    @staticmethod
    def detections_of(sample) -> tuple:
        """``(labels, scores, boxes)`` of the sample's ``detections``."""
        if 'detections' not in sample:
            raise KeyError(
                f"sample {sample.metainfo.get('sample_key', '?')} has no "
                "detections: load 'detections' with LoadWeakAnnotations "
                '(the dataset\'s detections_file)')
        d = sample.detections
        return d.labels, d.scores, d.bboxes

    def instance_target(self, sample) -> Tensor:
        """``(H, W)`` instance ids of the sample's targets: thing instances
        ``1..K``, then one id per stuff class; the head's ``ignore_index``
        elsewhere."""
        if 'gt_inst_seg' not in sample or 'gt_sem_seg' not in sample:
            raise KeyError(
                f"sample {sample.metainfo.get('sample_key', '?')} needs "
                "gt_sem_seg and gt_inst_seg: pack a target and load "
                "'inst_map'")
        sem = sample.gt_sem_seg.data[0].long()
        inst = sample.gt_inst_seg.data[0].long()
        ignore = self.instance_head.ignore_index
        things = torch.as_tensor(self.thing_classes, device=sem.device)
        is_thing = torch.isin(sem, things) & (inst > 0)
        ids, compact = torch.unique(inst[is_thing], return_inverse=True)
        target = torch.full_like(sem, ignore)
        target[is_thing] = compact + 1
        for k, c in enumerate(self.stuff_classes):
            target[sem == c] = len(ids) + 1 + k
        if 0 < ignore <= len(ids) + len(self.stuff_classes):
            raise ValueError(f'instance_head.ignore_index {ignore} collides '
                             'with instance ids: set it to -1')
        return target

    # ------------------------------------------------------------- testing
    def predict(self, inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        samples = super().predict(inputs, data_samples)
        rgb = self.rgb(inputs)
        mode = (self.test_cfg or {}).get('instances', 'crf')
        for i, sample in enumerate(samples):
            probs = sample.seg_logits.data.softmax(0)
            if mode == 'components':
                sem = probs.argmax(0)
                inst = torch.from_numpy(connected_component_instances(
                    sem.cpu().numpy(), self.thing_classes)).to(sem.device)
                scores = None
            else:
                sem, inst, scores = self._crf_instances(probs, rgb[i],
                                                        sample)
            inst = inst.to(probs.device, torch.int64)
            sample.pred_sem_seg = PixelData(data=sem[None].to(probs.device))
            sample.pred_inst_seg = PixelData(data=inst[None])
            sample.pred_instances = self._instances(probs, sem, inst, scores)
        return samples

    @staticmethod
    def _instances(probs: Tensor, sem: Tensor, inst: Tensor,
                   scores: Optional[Tensor]) -> InstanceData:
        """The thing instances of ``inst`` as masks with their class and
        score for AP^r: the detection's score (``scores[id - 1]``), or,
        without detections, the mean probability of the instance's class
        over its mask (the paper's Table 6 alternative)."""
        ids = inst.unique()
        ids = ids[ids > 0]
        masks = inst[None] == ids[:, None, None]
        labels = torch.stack([sem[m][0] for m in masks]) if len(ids) else \
            sem.new_zeros(0)
        if scores is not None:
            score = scores[ids - 1]
        else:
            score = torch.stack([probs[c][m].mean()
                                 for c, m in zip(labels, masks)]) \
                if len(ids) else probs.new_zeros(0)
        return InstanceData(masks=masks, labels=labels.long(),
                            scores=score.float())

    def _crf_instances(self, probs: Tensor, rgb: Tensor, sample) -> tuple:
        """Semantic and instance maps of the instance CRF at the original
        size (the input image cropped to ``img_shape`` and resized)."""
        h, w = sample.metainfo['img_shape'][:2]
        img = F.interpolate(rgb[None, :, :h, :w], size=probs.shape[1:],
                            mode='bilinear', align_corners=False)
        labels, scores, boxes = self.detections_of(sample)
        dets = [(labels.to(probs.device), scores.to(probs.device),
                 boxes.to(probs.device))]
        try:
            marginals = self.instance_head(probs[None], img, dets,
                                           self.stuff_classes)[0]
        except ValueError as e:  # bad detections, named with the sample
            raise ValueError(f"detections of sample "
                             f"{sample.metainfo.get('sample_key', '?')}: "
                             f'{e}') from e
        best = marginals.argmax(0)
        classes = torch.cat([labels.to(best.device).long(),
                             torch.as_tensor(self.stuff_classes,
                                             device=best.device)])
        n_det = len(labels)
        inst = torch.where(best < n_det, best + 1, torch.zeros_like(best))
        return classes[best], inst, scores.to(best.device).float()

