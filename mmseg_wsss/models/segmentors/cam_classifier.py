"""Classification network for seed cues: CAMs and seeds (DSRG §3.1, §4.1)."""
from typing import List

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from mmseg_wsss.algorithms.region_growing import cam_seeds
from ..decode_heads.cam_head import CAMHead
from ..utils.cam import normalise_cams

_TEST_DEFAULTS = dict(mode='whole', cam='cam', fg_fraction=0.2,
                      bg_threshold=0.06, score_threshold=0.5)


@MODELS.register_module()
class CAMClassifier(EncoderDecoder):
    """Any MMSeg backbone + :class:`CAMHead`, trained from image tags, whose
    prediction is the DSRG seed cues.

    * ``loss``: the head's multi-label BCE on ``gt_tags`` (MMSeg's
      ``EncoderDecoder.loss``; logged as ``decode.loss_cls``).
    * ``predict``: per image, ``seg_logits`` are the CAMs (normalised per
      class by their maximum, eq. 8 of BES, at the original image size) and
      ``pred_sem_seg`` the seed cues of
      :func:`~mmseg_wsss.algorithms.region_growing.cam_seeds` (class ids,
      255 unlabelled), so ``tools/test.py`` scores the seeds and
      ``--show-dir`` draws them.

    Seeds use the image's ``gt_tags`` when the sample has them (load
    ``'tags'`` in the test pipeline: seeds are made for training images,
    whose tags are known), else the classes whose sigmoid score exceeds
    ``test_cfg.score_threshold``, plus ``bg_index``.

    **Background cue.** DSRG thresholds a saliency map (normalised saliency
    < 0.06) for background seeds; no saliency model is available here. The
    substitute is the one of ``cam_seeds``: a pixel is a background seed
    when every tagged foreground class's normalised CAM is below
    ``bg_threshold`` (0.06, the paper's value, by default). The returned
    ``seg_logits`` channel of ``bg_index`` (untrained by the classifier)
    holds that cue as ``1 - max`` of the tagged foreground CAMs, so
    "background seed" is "channel > 1 - bg_threshold" and an arg-max of
    ``seg_logits`` is a dense CAM segmentation.

    ``test_cfg`` (defaults in brackets): ``cam`` ('cam' | 'gradcam')
    ['cam'], ``fg_fraction`` (the top fraction of each tagged class's CAM
    taken as its seeds) [0.2], ``bg_threshold`` [0.06], ``score_threshold``
    [0.5], plus MMSeg's ``mode`` ['whole'] (slide inference averages the
    un-normalised maps of the windows).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.decode_head, CAMHead):
            raise TypeError('CAMClassifier needs a CAMHead decode head, got '
                            f'{type(self.decode_head).__name__}')
        self.test_cfg = ConfigDict(
            {**_TEST_DEFAULTS, **(self.test_cfg or {})})
        if self.test_cfg.cam not in ('cam', 'gradcam'):
            raise ValueError("test_cfg.cam must be 'cam' or 'gradcam', got "
                             f'{self.test_cfg.cam!r}')

    def image_tags(self, inputs: Tensor,
                   data_samples: SampleList) -> List[np.ndarray]:
        """Class ids present in each image: ``gt_tags`` where given, else
        the classified classes scoring above ``score_threshold`` plus
        ``bg_index``."""
        head = self.decode_head
        tags = [np.flatnonzero(s.gt_tags.cpu().numpy()) if 'gt_tags' in s
                else None for s in data_samples]
        if all(t is not None for t in tags):
            return tags
        scores = head.pool(head.forward(self.extract_feat(inputs))).sigmoid()
        present = scores > self.test_cfg.score_threshold
        if head.bg_index is not None:
            present[:, head.bg_index] = True
        return [np.flatnonzero(p.cpu().numpy()) if t is None else t
                for t, p in zip(tags, present)]

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """CAMs (``seg_logits``) and seed cues (``pred_sem_seg``)."""
        results = super().predict(inputs, data_samples)
        bg_index = self.decode_head.bg_index
        cfg = self.test_cfg
        for sample, tags in zip(results, self.image_tags(inputs, results)):
            cams = normalise_cams(sample.seg_logits.data[None])[0]
            if bg_index is not None:
                fg = [c for c in tags if c != bg_index]
                cams[bg_index] = 1 - (cams[fg].amax(0) if fg else 0)
            seeds = cam_seeds(cams.cpu().numpy(), tags, cfg.fg_fraction,
                              cfg.bg_threshold, bg_index)
            sample.seg_logits = PixelData(data=cams)
            sample.pred_sem_seg = PixelData(data=torch.from_numpy(
                seeds.astype(np.int64))[None].to(cams.device))
        return results
