"""Relabelling of the training set by the model being trained."""
import os
import os.path as osp
import shutil
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.dataset import Compose, InfiniteSampler, pseudo_collate
from mmengine.dist import barrier, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS, TRANSFORMS

from mmseg_wsss.algorithms.crf import dense_crf
from mmseg_wsss.datasets import WeakSegDataset
from mmseg_wsss.utils import atomic_write_image

#: checkpoint ``meta`` key holding ``dict(version=k, path=...)``
META_KEY = 'pseudo_labels'
#: images only, packed as for testing
DEFAULT_PIPELINE = (dict(type='LoadCheckedImageFromFile'),
                    dict(type='PackWeakSegInputs', target=None))


def _labels(pred, crf_cfg: Optional[dict]) -> np.ndarray:
    """Arg-max label map of one prediction, after a dense CRF on its image
    when ``crf_cfg`` is a dict."""
    if crf_cfg is None:
        return pred.pred_sem_seg.data[0].cpu().numpy()
    scores = pred.seg_logits.data.float().cpu()
    # one map is already a sigmoid in MMSeg's post-processing
    probs = (scores.softmax(0) if len(scores) > 1 else torch.cat(
        [1 - scores, scores]))
    img = mmcv.imread(pred.img_path, channel_order='rgb')
    return dense_crf(img, probs.numpy(), **crf_cfg).argmax(0)


def predict_pseudo_labels(model: torch.nn.Module,
                          dataset: WeakSegDataset,
                          out_dir: str,
                          indices: Optional[Sequence[int]] = None,
                          pipeline: Optional[Sequence[dict]] = None,
                          crf: Union[bool, dict, None] = None,
                          batch_size: int = 1) -> List[str]:
    """Label the images of ``dataset`` (``indices``, default all) with
    ``model`` (MMSeg's ``test_step``: the prediction at the original image
    size), refined by a dense CRF when ``crf`` is ``True`` or a dict of
    :func:`~mmseg_wsss.algorithms.crf.dense_crf` arguments. Each map is
    written atomically to ``out_dir/<image path relative to img_path><
    seg_map_suffix>``, where :class:`WeakSegDataset` looks for
    ``pseudo_path`` maps. ``pipeline`` (default: load the image, pack it)
    must give the original size back through ``ori_shape``; images of one
    batch must share a size. Returns the written paths."""
    if crf is True:
        crf = {}
    elif crf is False:
        crf = None
    transforms = Compose([TRANSFORMS.build(t)
                          for t in (pipeline or DEFAULT_PIPELINE)])
    indices = range(len(dataset)) if indices is None else indices
    img_dir = dataset.data_prefix['img_path']
    was_training, written = model.training, []
    model.eval()
    try:
        for start in range(0, len(indices), batch_size):
            infos = [dataset.get_data_info(i)
                     for i in indices[start:start + batch_size]]
            with torch.no_grad():
                preds = model.test_step(
                    pseudo_collate([transforms(dict(info)) for info in infos]))
            for info, pred in zip(infos, preds):
                stem = osp.relpath(info['img_path'], img_dir)
                stem = stem[:len(stem) - len(dataset.img_suffix)]
                path = osp.join(out_dir, stem + dataset.seg_map_suffix)
                atomic_write_image(path, _labels(pred, crf).astype(np.uint8))
                written.append(path)
    finally:
        model.train(was_training)
    return written


def weak_dataset(dataset) -> WeakSegDataset:
    """The :class:`WeakSegDataset` inside (``RepeatDataset``-style)
    wrappers."""
    while not isinstance(dataset, WeakSegDataset):
        if not hasattr(dataset, 'dataset'):
            raise TypeError('PseudoLabelRefreshHook needs a WeakSegDataset '
                            f'as training set, got {type(dataset).__name__}')
        dataset = dataset.dataset
    return dataset


def restart_loader_workers(loop) -> None:
    """Make the training loop's data workers, which hold copies of the
    dataset, start afresh from the current dataset: persistent workers are
    shut down, and an ``IterBasedTrainLoop`` gets a new iterator; batches
    prefetched by the old workers are dropped. An ``InfiniteSampler``
    starts a new stream (its seed + 1: the old stream dies with the old
    iterator). Not for the middle of an epoch-based loop's epoch."""
    loader = loop.dataloader
    cached = loader._iterator  # torch's persistent workers
    if cached is not None:
        cached._shutdown_workers()
        loader._iterator = None
    infinite = getattr(loop, 'dataloader_iterator', None)
    if infinite is None:
        return
    if hasattr(infinite._iterator, '_shutdown_workers'):
        infinite._iterator._shutdown_workers()
    if isinstance(loader.sampler, InfiniteSampler):
        loader.sampler.seed += 1
        loader.sampler.indices = loader.sampler._indices_of_rank()
    infinite._iterator = iter(loader)


@HOOKS.register_module()
class PseudoLabelRefreshHook(Hook):
    """Relabel the training set with the current model and train on it.

    Every ``interval`` iterations and/or after the last one (``at_end``),
    the model (MMSeg inference, optionally + dense CRF) labels every
    training image and the maps become version ``k`` of the pseudo labels,
    ``work_dir/out_dir/v{k}/``; the training set's ``data_prefix.
    pseudo_path`` then points there (its pipeline must load ``'pseudo'``).

    * **Atomic versions**: each file is written atomically into
      ``.v{k}.tmp``, renamed to ``v{k}`` once complete; only then is the
      dataset switched. A crash mid-refresh leaves the previous version in
      use (and in the checkpoints); the next refresh discards the leftover.
    * **Data workers** hold their own copies of the dataset: after a switch
      the loop's iterator is recreated (``IterBasedTrainLoop``; a refresh
      before the last iteration needs it), so persistent workers too serve
      the new labels from the next batch on.
    * **Resume**: checkpoints store ``meta['pseudo_labels'] = dict(version,
      path)``; a resumed run (``runner.iter > 0``) trains on that version
      and numbers the next one ``k + 1``.
    * **Distributed**: rank ``r`` labels images ``r, r + W, ...``; after a
      barrier rank 0 publishes the version; every rank then switches.

    DSRG's "+Retrain" (§4.4): ``at_end=True`` in the DSRG run leaves the
    final model's labels in ``v1`` (``interval=0``); the retrain configs
    train a new model fully-supervised on them.
    ``tools/dataset/label_with_model.py`` does the same from a checkpoint.

    Args:
        interval (int): Iterations between refreshes; 0: none in training.
        at_end (bool): Refresh after the last iteration (before its
            checkpoint is saved).
        crf (bool | dict): Dense CRF on the predictions (``True``: defaults
            of :func:`~mmseg_wsss.algorithms.crf.dense_crf`, or its args).
        pipeline (list[dict], optional): Test-style pipeline for the
            training images; default: load the image and pack it.
        batch_size (int): Images per forward pass (of one size).
        out_dir (str): Version folder, relative to ``work_dir``.
    """

    def __init__(self,
                 interval: int = 0,
                 at_end: bool = True,
                 crf: Union[bool, dict] = False,
                 pipeline: Optional[Sequence[dict]] = None,
                 batch_size: int = 1,
                 out_dir: str = 'pseudo_labels') -> None:
        if interval < 0 or not (interval or at_end):
            raise ValueError('give interval >= 1 and/or at_end=True')
        self.interval = interval
        self.at_end = at_end
        self.crf = crf
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.out_dir = out_dir
        self.version = 0
        self.path: Optional[str] = None
        self._loaded: Optional[dict] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('meta', {}).get(META_KEY)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.version:
            checkpoint.setdefault('meta', {})[META_KEY] = dict(
                version=self.version, path=self.path)

    def before_train(self, runner) -> None:
        if self.interval and not hasattr(runner.train_loop,
                                         'dataloader_iterator'):
            raise TypeError('PseudoLabelRefreshHook(interval > 0) needs an '
                            'IterBasedTrainLoop')
        if self._loaded and runner.iter > 0:  # resumed, not load_from
            version, path = self._loaded['version'], self._loaded['path']
            if not osp.isdir(path):
                path = osp.join(runner.work_dir, self.out_dir, f'v{version}')
            if not osp.isdir(path):
                raise FileNotFoundError(
                    f'pseudo labels v{version} of the checkpoint are gone '
                    f"(neither {self._loaded['path']} nor {path})")
            self.use(runner, version, path)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if (self.every_n_train_iters(runner, self.interval)
                or (self.at_end and self.is_last_train_iter(runner))):
            self.refresh(runner)

    def refresh(self, runner) -> str:
        """Write version ``k + 1`` (every rank its shard), publish it (rank
        0) and train on it; returns its folder."""
        rank, world_size = get_dist_info()
        version = self.version + 1
        root = osp.join(runner.work_dir, self.out_dir)
        final = osp.join(root, f'v{version}')
        tmp = osp.join(root, f'.v{version}.tmp')
        if rank == 0:
            shutil.rmtree(tmp, ignore_errors=True)  # a crashed attempt
            os.makedirs(tmp)
        barrier()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = weak_dataset(runner.train_dataloader.dataset)
        written = predict_pseudo_labels(
            model, dataset, tmp, range(rank, len(dataset), world_size),
            self.pipeline, self.crf, self.batch_size)
        barrier()
        if rank == 0:
            # a v{k} here was made after the checkpoint this run resumed from
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        barrier()
        self.use(runner, version, final)
        runner.logger.info(f'Pseudo labels v{version}: {final} '
                           f'({len(written)} maps from rank {rank})')
        return final

    def use(self, runner, version: int, path: str) -> None:
        """Point the training set at ``path`` and restart its workers."""
        dataset = weak_dataset(runner.train_dataloader.dataset)
        dataset.data_prefix['pseudo_path'] = path
        dataset._fully_initialized = False  # re-list the samples' paths
        dataset.full_init()
        self.version, self.path = version, path
        if not self.is_last_train_iter(runner):
            restart_loader_workers(runner.train_loop)
