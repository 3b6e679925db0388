"""Relabelling of the training set by the model being trained."""
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dist import barrier, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from mmseg_wsss.apis import (IMAGE_PIPELINE, LabelWriter, box_prior,
                             inner_dataset_cfg, label_dataset, publish,
                             staging_dir)
from mmseg_wsss.datasets import WeakSegDataset
from ..loops import WSSSIterBasedTrainLoop

#: checkpoint ``meta`` key holding ``dict(version=k, path=...)``
META_KEY = 'pseudo_labels'


def weak_dataset(dataset) -> WeakSegDataset:
    """The :class:`WeakSegDataset` inside (``RepeatDataset``-style)
    wrappers."""
    while not isinstance(dataset, WeakSegDataset):
        if not hasattr(dataset, 'dataset'):
            raise TypeError('PseudoLabelRefreshHook needs a WeakSegDataset '
                            f'as training set, got {type(dataset).__name__}')
        dataset = dataset.dataset
    return dataset


@HOOKS.register_module()
class PseudoLabelRefreshHook(Hook):
    """Relabel the training set with the current model and train on it.

    Every ``interval`` iterations and/or after the last one (``at_end``),
    the model (MMSeg inference, optionally + dense CRF:
    :func:`~mmseg_wsss.apis.label_dataset`) labels every training image and
    the maps become version ``k`` of the pseudo labels,
    ``work_dir/out_dir/v{k}/``; the training set's ``data_prefix.
    pseudo_path`` then points there (its pipeline must load ``'pseudo'``).

    * **Atomic versions**: each file is written atomically into
      ``.v{k}.tmp``, renamed to ``v{k}`` once complete; only then is the
      dataset switched. A crash mid-refresh leaves the previous version in
      use (and in the checkpoints); the next refresh discards the leftover.
    * **Data workers** hold their own copies of the dataset: the switch
      goes through the training loop, which must be a
      :class:`~mmseg_wsss.engine.WSSSIterBasedTrainLoop`
      (``train_cfg = dict(type='WSSSIterBasedTrainLoop', ...)``); it
      rebuilds the training set and its data loader from its edited config
      (:meth:`~mmseg_wsss.engine.WSSSIterBasedTrainLoop.reload_data`), so
      persistent workers too serve the new labels from the next batch on.
    * **Resume**: checkpoints store ``meta['pseudo_labels'] = dict(version,
      path, stream)``; a resumed run (``runner.iter > 0``) trains on that
      version, on the very data stream the interrupted run was drawing
      (``stream``: the loop's state, see
      :class:`~mmseg_wsss.engine.WSSSIterBasedTrainLoop`), so its weights
      equal an uninterrupted run's; the next version is ``k + 1``.
    * **Distributed**: rank ``r`` labels images ``r, r + W, ...``; after a
      barrier rank 0 publishes the version; every rank then switches.

    **Iterative ground truth** (panoptic paper §3.4): ``box_prior=dict(
    thing_classes=[...], fill=255)`` sets every thing-class pixel outside
    all boxes of its class to ``fill`` (255 ignore, or the background) in
    each new version (:func:`~mmseg_wsss.apis.box_prior`; the labelling
    pipeline then loads the boxes), and ``crf`` refines the predictions
    first (DeepLab's parameters in the paper). When the training set has
    full masks (``data_prefix.seg_map_path``), every version's precision /
    recall / mIoU against them is logged (``pseudo_labels/*`` scalars; this
    rank's share of the images when distributed).

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
        box_prior (dict, optional): ``thing_classes`` and ``fill`` (default
            255) of the box prior; None: labels as predicted.
    """

    def __init__(self,
                 interval: int = 0,
                 at_end: bool = True,
                 crf: Union[bool, dict] = False,
                 pipeline: Optional[Sequence[dict]] = None,
                 batch_size: int = 1,
                 out_dir: str = 'pseudo_labels',
                 box_prior: Optional[dict] = None) -> None:
        if interval < 0 or not (interval or at_end):
            raise ValueError('give interval >= 1 and/or at_end=True')
        self.interval = interval
        self.at_end = at_end
        self.crf = crf
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.out_dir = out_dir
        self.box_prior = box_prior
        self.version = 0
        self.path: Optional[str] = None
        self._loaded: Optional[dict] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('meta', {}).get(META_KEY)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.version:
            checkpoint.setdefault('meta', {})[META_KEY] = dict(
                version=self.version, path=self.path,
                stream=runner.train_loop.state_dict())

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, WSSSIterBasedTrainLoop):
            raise TypeError(
                'PseudoLabelRefreshHook reloads the training data after a '
                "refresh: set train_cfg = dict(type='WSSSIterBasedTrainLoop', "
                f'...) (got {type(runner.train_loop).__name__})')
        weak_dataset(runner.train_dataloader.dataset)  # TypeError if not
        if self._loaded and runner.iter > 0:  # resumed, not load_from
            version, path = self._loaded['version'], self._loaded['path']
            if not osp.isdir(path):
                path = self._version_dir(runner, version)
            if not osp.isdir(path):
                raise FileNotFoundError(
                    f'pseudo labels v{version} of the checkpoint are gone '
                    f"(neither {self._loaded['path']} nor {path})")
            self.use(runner, version, path, self._loaded.get('stream'))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if (self.every_n_train_iters(runner, self.interval)
                or (self.at_end and self.is_last_train_iter(runner))):
            self.refresh(runner)

    def _version_dir(self, runner, version: int) -> str:
        """The folder of version ``version``."""
        return osp.join(runner.work_dir, self.out_dir, f'v{version}')

    def refresh(self, runner) -> str:
        """Write version ``k + 1`` (every rank its shard), publish it (rank
        0) and train on it; returns its folder."""
        rank, _ = get_dist_info()
        version = self.version + 1
        final = self._version_dir(runner, version)
        staging = staging_dir(final, reset=rank == 0)
        barrier()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = weak_dataset(runner.train_dataloader.dataset)
        writer = LabelWriter(
            staging, dataset.seg_map_suffix,
            postprocess=box_prior(**self.box_prior)
            if self.box_prior else None)
        written = label_dataset(model, dataset, writer, crf=self.crf,
                                pipeline=self._pipeline(dataset),
                                batch_size=self.batch_size)
        barrier()
        if rank == 0:
            # a v{k} here was made after the checkpoint this run resumed from
            publish(staging, final)
        barrier()
        self.use(runner, version, final)
        msg = f'Pseudo labels v{version}: {final} ({len(written)} maps ' \
              f'from rank {rank})'
        if writer.quality.fully_measured and writer.quality.images:
            scores = writer.quality.scores()
            for k, v in scores.items():
                runner.message_hub.update_scalar(f'pseudo_labels/{k}', v)
            msg += ', against the full masks: ' + ', '.join(
                f'{k} {100 * v:.2f}' for k, v in scores.items())
        runner.logger.info(msg)
        return final

    def _pipeline(self, dataset: WeakSegDataset) -> Sequence[dict]:
        """The labelling pipeline: the hook's, or the image plus the boxes
        (box prior) and the full masks (quality) where they exist."""
        if self.pipeline:
            return self.pipeline
        annotations = ['boxes'] if self.box_prior else []
        if 'seg_map_path' in dataset.data_prefix:
            annotations.append('full')
        if not annotations:
            return IMAGE_PIPELINE
        return [IMAGE_PIPELINE[0],
                dict(type='LoadWeakAnnotations', annotations=annotations),
                IMAGE_PIPELINE[1]]

    def use(self, runner, version: int, path: str,
            stream: Optional[dict] = None) -> None:
        """Point the training set at ``path``: the loop rebuilds its data
        (and data workers) from the edited config, as a new stream or, on
        resume, as the checkpoint's ``stream``."""
        loop = runner.train_loop
        inner_dataset_cfg(loop.dataloader_cfg)['data_prefix'][
            'pseudo_path'] = path
        loop.reload_data(stream)
        self.version, self.path = version, path
