"""Quality of the training supervision against full masks (DSRG Fig. 4)."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from mmseg_wsss.algorithms.quality import supervision_quality
from mmseg_wsss.utils import atomic_write_image
from mmseg_wsss.visualization import overlay_labels


@HOOKS.register_module()
class SupervisionQualityHook(Hook):
    """Every ``interval`` training iterations, the precision, recall and IoU
    (:func:`~mmseg_wsss.algorithms.quality.seed_quality`) of the
    batch's current supervision against its full masks, as in Fig. 4 of
    DSRG (§4.5): the evolution of the grown labels during training.

    The supervision is the model's ``current_supervision`` (one unpadded
    label map per sample: the labels a :class:`WSSSEncoderDecoder`'s weak
    losses trained on, e.g. DSRG's grown seeds) or, when it is ``None``,
    the batch's ``gt_sem_seg`` (static pseudo labels). Batches without ``gt_full_sem_seg`` (load ``'full'`` in the
    training pipeline; it is only measured, never trained on) are skipped.
    The seeds' own quality (``gt_pseudo_seg``) is logged next to it. Values
    are pooled over the pixels of the whole batch of every rank and written
    as ``supervision/{precision,recall,IoU}`` and ``seeds/...`` to the
    visualizer (``vis_data/scalars.json``, step = iteration) and the log.
    ``num_overlays`` samples of the batch are saved (rank 0) as ``image |
    supervision | full mask`` to ``work_dir/out_dir/iter_{k}/``.

    Args:
        interval (int): Iterations between two measurements.
        num_overlays (int): Overlays saved per measurement.
        out_dir (str): Overlay folder, relative to ``work_dir``.
        ignore_index (int): Unlabelled value. Defaults to 255.
    """

    def __init__(self,
                 interval: int = 50,
                 num_overlays: int = 4,
                 out_dir: str = 'supervision_quality',
                 ignore_index: int = 255) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.num_overlays = num_overlays
        self.out_dir = out_dir
        self.ignore_index = ignore_index

    @staticmethod
    def supervision(runner, samples: Sequence) -> Optional[List[np.ndarray]]:
        """The current supervision of ``samples``, or ``None``."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        labels = getattr(model, 'current_supervision', None)
        if labels is not None:
            return [label.numpy() for label in labels]
        if all('gt_sem_seg' in s for s in samples):
            return [s.gt_sem_seg.data[0].numpy() for s in samples]
        return None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        samples = data_batch['data_samples']
        if not all('gt_full_sem_seg' in s for s in samples):
            return
        labels = self.supervision(runner, samples)
        if labels is None:
            return
        full = [s.gt_full_sem_seg.data[0].numpy() for s in samples]
        seeds = ([s.gt_pseudo_seg.data[0].numpy() for s in samples]
                 if all('gt_pseudo_seg' in s for s in samples) else None)
        gathered = all_gather_object((labels, full, seeds))
        metrics = {
            f'supervision/{k}': v
            for k, v in supervision_quality(
                [p for lab, ful, _ in gathered for p in zip(lab, ful)],
                self.ignore_index).items()
        }
        if seeds is not None:
            metrics.update({
                f'seeds/{k}': v
                for k, v in supervision_quality(
                    [p for _, ful, sd in gathered for p in zip(sd, ful)],
                    self.ignore_index).items()
            })
        step = runner.iter + 1
        runner.visualizer.add_scalars(metrics, step=step)
        runner.logger.info(f'Supervision quality (iter {step}): ' + ', '.join(
            f'{k}: {v:.4f}' for k, v in metrics.items()))
        if is_main_process():
            self._save_overlays(runner, data_batch['inputs'], samples,
                                labels, full, step)

    def _save_overlays(self, runner, inputs: Sequence, samples: Sequence,
                       labels: Sequence[np.ndarray],
                       full: Sequence[np.ndarray], step: int) -> None:
        palette = runner.train_dataloader.dataset.metainfo['palette']
        out = osp.join(runner.work_dir, self.out_dir, f'iter_{step}')
        for i in range(min(self.num_overlays, len(samples))):
            img = np.ascontiguousarray(
                inputs[i].permute(1, 2, 0).numpy()[..., ::-1])  # BGR -> RGB
            panels = [img] + [
                overlay_labels(img, m, palette, ignore_index=self.ignore_index)
                for m in (labels[i], full[i])
            ]
            key = samples[i].metainfo.get('sample_key', str(i))
            name = f"{i}_{key.replace('/', '_')}.png"
            atomic_write_image(
                osp.join(out, name),
                np.concatenate(panels, 1)[..., ::-1].copy())
