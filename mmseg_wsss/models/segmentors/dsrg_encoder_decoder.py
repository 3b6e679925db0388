"""Deep Seeded Region Growing (DSRG, 001_3db5c5196e8e9aa2, §3.2-3.3)."""
from typing import List, Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from mmseg_wsss.algorithms.region_growing import grow_seeds_batch
from ..losses.functional import balanced_seed_loss, seed_loss
from .wsss_encoder_decoder import WSSSEncoderDecoder

SEED_LOSSES = ('balanced', 'plain')


@MODELS.register_module()
class DSRGEncoderDecoder(WSSSEncoderDecoder):
    """Segmentor trained from seed cues grown online by DSRG, on any MMSeg
    backbone and softmax decode head (the paper's DeepLab-ASPP: MMSeg's
    ``ASPPHead`` / ``DepthwiseSeparableASPPHead`` on ``ResNetV1c``).

    At every training iteration:

    1. the decode head's logits are upsampled (bilinear) to the input
       resolution, which is also the seeds' resolution, and soft-maxed into
       the segmentation map ``H``. The output is brought to the seeds rather
       than the seeds to the output (the authors' code shrinks the cues to
       the 41x41 output) so that thin or small seeds - scratches, poles - are
       not lost to a stride-8 nearest subsampling, the supervision is
       directly comparable with full masks (:class:`SupervisionQualityHook`)
       and the loss is taken where MMSeg's heads take theirs (they also
       resize logits to the label size);
    2. ``grow=True``: the seeds ``S`` (``gt_pseudo_seg``, 255 = unlabelled)
       grow by ``DSRG(S, H)`` (§3.3, criterion of eq. 3, thresholds
       ``theta_fg`` / ``theta_bg``, the paper's 0.85 / 0.99 of §4.1) on the
       detached ``H``, for the image's tags (``gt_tags``) only;
       :func:`~mmseg_wsss.algorithms.region_growing.grow_seeds_batch`.
       Batch padding can neither be labelled nor connect regions;
    3. the seeding loss on the grown labels (or on the seeds when
       ``grow=False``): ``'balanced'`` is eq. (1) (foreground and
       ``bg_index`` seeds normalised separately), ``'plain'`` SEC's seed
       loss. With ``bg_index=None`` (data without a background class) every
       class is foreground and eq. (1) keeps its first term, i.e. both are
       SEC's seed loss;
    4. the boundary (SEC constrain) loss of eq. (2), ``l = l_seed +
       l_boundary``: the inherited ``constrain_weight``, 1 by default as in
       eq. (2) (0 turns it off), on the head's native-resolution output.

    Table 2 of the paper: ``grow=False, seed_loss='plain'`` is the SEC
    "baseline" (without the expand loss), ``grow=False,
    seed_loss='balanced'`` is "+BSL", the defaults are "+DSRG"; "+Retrain"
    is a second, fully-supervised training on this model's predictions
    (:class:`~mmseg_wsss.engine.hooks.PseudoLabelRefreshHook`).

    The decode head's own ``loss_decode`` is not used; an auxiliary head
    trains with its ``loss_decode`` on the grown labels (they replace the
    samples' ``gt_sem_seg``). :attr:`current_supervision` holds the labels
    of the last training batch, one ``(h, w)`` long tensor per sample at its
    (unpadded) input size. Test time: MMSeg's inference (plus
    ``test_cfg.crf``).

    Data: load ``'pseudo'`` and ``'tags'`` (and ``'full'`` for the quality
    hook) with :class:`LoadWeakAnnotations`, pack with ``target=None``, and
    use :class:`WeakSegDataPreProcessor` (it pads the seeds with the batch).

    Args:
        grow (bool): Region growing on (DSRG) or off (static seeds).
        seed_loss (str): ``'balanced'`` (eq. 1) or ``'plain'`` (SEC).
        theta_fg, theta_bg (float): ``theta_f`` and ``theta_b`` of eq. (3).
        bg_index (int, optional): The background class, or ``None``.
        constrain_weight (float): Weight of the boundary loss of eq. (2).
    """

    def __init__(self,
                 *args,
                 grow: bool = True,
                 seed_loss: str = 'balanced',
                 theta_fg: float = 0.85,
                 theta_bg: float = 0.99,
                 bg_index: Optional[int] = 0,
                 constrain_weight: float = 1.0,
                 **kwargs) -> None:
        super().__init__(*args, constrain_weight=constrain_weight, **kwargs)
        if seed_loss not in SEED_LOSSES:
            raise ValueError(f'seed_loss must be one of {SEED_LOSSES}, got '
                             f'{seed_loss!r}')
        if self.decode_head.out_channels < 2:
            raise ValueError('DSRG needs a softmax decode head '
                             '(out_channels = num_classes >= 2)')
        self.grow = grow
        self.seed_loss = seed_loss
        self.theta_fg = theta_fg
        self.theta_bg = theta_bg
        self.bg_index = bg_index
        self.current_supervision: Optional[List[Tensor]] = None

    def supervision(self, inputs: Tensor, probs: Tensor,
                    data_samples: SampleList) -> Tensor:
        """``(N, H, W)`` long labels: the seeds, grown by ``DSRG(S, H)`` on
        ``probs`` when ``grow`` is on; also stored (unpadded, on the CPU) in
        :attr:`current_supervision`."""
        if not all('gt_pseudo_seg' in s for s in data_samples):
            raise KeyError("DSRG needs seeds: load 'pseudo' with "
                           'LoadWeakAnnotations (data_prefix.pseudo_path)')
        seeds = torch.stack([s.gt_pseudo_seg.data[0] for s in data_samples])
        if seeds.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(f'seeds {tuple(seeds.shape)} do not match the '
                             f'batch {tuple(inputs.shape)}: use '
                             'WeakSegDataPreProcessor, which pads them')
        if self.grow:
            if not all('gt_tags' in s for s in data_samples):
                raise KeyError("DSRG grows the tagged classes: load 'tags' "
                               'with LoadWeakAnnotations (tags_file)')
            valid = self.valid_mask(inputs, data_samples)
            tags = [s.gt_tags.nonzero().flatten().tolist()
                    for s in data_samples]
            # padding: a probability below any threshold, never grown into
            h_map = probs.detach().masked_fill(~valid[:, None], -1.0)
            grown = grow_seeds_batch(
                h_map.float().cpu().numpy(),
                seeds.cpu().numpy(), tags, theta_fg=self.theta_fg,
                theta_bg=self.theta_bg, bg_index=self.bg_index,
                ignore_index=self.decode_head.ignore_index)
            seeds = torch.from_numpy(grown)
        seeds = seeds.to(probs.device)
        sizes = [s.metainfo.get('img_shape', seeds.shape[-2:])[:2]
                 for s in data_samples]
        self.current_supervision = [
            label[:h, :w].cpu() for label, (h, w) in zip(seeds, sizes)
        ]
        return seeds

    def seeding_loss(self, probs: Tensor, labels: Tensor) -> Tensor:
        """Eq. (1) (``'balanced'``) or SEC's seed loss (``'plain'``)."""
        ignore_index = self.decode_head.ignore_index
        if self.seed_loss == 'plain' or self.bg_index is None:
            return seed_loss(probs, labels, ignore_index)
        return balanced_seed_loss(probs, labels, ignore_index, self.bg_index)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """``l_seed`` on the (grown) seeds + ``l_boundary`` (eq. 2), and the
        auxiliary head's loss on the same labels."""
        x = self.extract_feat(inputs)
        raw_logits = self.decode_head.forward(x)
        probs = resize(raw_logits, size=inputs.shape[2:], mode='bilinear',
                       align_corners=self.align_corners).softmax(1)
        labels = self.supervision(inputs, probs, data_samples)
        losses = {'loss_seed': self.seeding_loss(probs, labels)}
        if self.with_auxiliary_head:
            for sample, label in zip(data_samples, labels):
                sample.gt_sem_seg = PixelData(data=label[None])
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        if self.constrain_weight > 0:
            losses['loss_constrain'] = self.constrain(inputs, raw_logits)
        return losses
