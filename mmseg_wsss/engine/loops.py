"""An iteration-based training loop whose training data can be reloaded."""
import copy
import itertools
import random
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_rank
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import LOOPS
from torch.utils.data import DataLoader


def endless_batches(loader: DataLoader) -> Iterator:
    """The batches of ``loader`` without end, as mmengine's infinite
    iterator gives them: pass after pass, a sampler with ``set_epoch``
    told the pass number. Nothing is loaded, and no data worker started,
    before the first batch is asked for; dropping the generator releases
    the loader's iterator, whose (non-persistent) workers torch then shuts
    down."""
    sampler = getattr(loader.batch_sampler, 'sampler', None)
    for epoch in itertools.count():
        if epoch and hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(epoch)
        yield from loader


@LOOPS.register_module()
class WSSSIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` whose training data can be rebuilt
    mid-run (:meth:`reload_data`), e.g. after the pseudo labels it trains on
    changed (:class:`~mmseg_wsss.engine.PseudoLabelRefreshHook`).

    mmengine's loop draws every batch from one iterator made when the loop
    is built; its data workers, which hold copies of the dataset, never see
    a later change of it (persistent workers even outlive the iterator).
    This loop keeps its data loader config, :attr:`dataloader_cfg` (edit it
    to change the data, e.g. through
    :func:`~mmseg_wsss.apis.inner_dataset_cfg`), and on :meth:`reload_data`
    rebuilds dataset, sampler and data loader from it and iterates the new
    loader. Use it as ``train_cfg = dict(type='WSSSIterBasedTrainLoop',
    max_iters=..., val_interval=...)``.

    **Exact resume.** :meth:`state_dict` (``reloads``, and ``stream_start``,
    the iteration whose batch was the first of the current data stream) is
    what a checkpoint must keep (the refresh hook stores it in its meta);
    :meth:`reload_data` with that state rebuilds the same stream. mmengine
    advances a resumed loop's iterator by ``runner.iter`` batches before
    training on: the iterator of a restored stream yields ``stream_start``
    empty placeholders first, so the stream itself advances by ``iter -
    stream_start``, exactly as far as the uninterrupted run had drawn it.

    Args:
        runner (Runner): The runner.
        dataloader (dict): Data loader config.
        max_iters (int): Training iterations.
        **kwargs: Further ``IterBasedTrainLoop`` arguments.
    """

    def __init__(self, runner, dataloader: dict, max_iters: int,
                 **kwargs) -> None:
        if not isinstance(dataloader, dict):
            raise TypeError('WSSSIterBasedTrainLoop rebuilds its data loader '
                            'from a config: give train_dataloader as a dict, '
                            f'not a {type(dataloader).__name__}')
        super().__init__(runner, dataloader, max_iters, **kwargs)
        self.dataloader_cfg = copy.deepcopy(dataloader)
        self.reloads = 0
        self.stream_start = 0

    def state_dict(self) -> dict:
        """What :meth:`reload_data` needs to rebuild the current stream."""
        return dict(reloads=self.reloads, stream_start=self.stream_start)

    def reload_data(self, state: Optional[dict] = None) -> None:
        """Serve the data of :attr:`dataloader_cfg` from the next batch on
        (``state=None``: a new stream, from the next iteration), or, with a
        checkpoint's :meth:`state_dict`, the stream it was trained on.

        The current data loader and iterator are dropped first, which shuts
        their workers down (persistent ones included: torch stops them when
        the loader goes). The dataset, the sampler and the loader are then
        built as the runner built them, except that the ``k``-th reload
        seeds them, and the process's ``random`` / ``numpy`` generators the
        data transforms draw from, with ``runner.seed + k``: an
        ``InfiniteSampler`` starts the deterministic stream of that seed (a resumed run that reloads
        at its start therefore does not replay the interrupted stream).
        Batches prefetched from the old loader are discarded; the new
        loader's workers start with the next batch.
        """
        if state is None:
            self.reloads += 1
            self.stream_start = self._iter + 1  # called after an iteration
        else:
            self.reloads = state['reloads']
            self.stream_start = state['stream_start']
        self.dataloader_iterator = self.dataloader = None
        randomness = self.runner.cfg.get('randomness') or {}
        diff_rank_seed = randomness.get('diff_rank_seed', False)
        seed = self.runner.seed + self.reloads
        # transforms run in this process (num_workers=0) draw from the
        # global random / numpy generators: reseed them so that the stream
        # depends on its seed only, as data workers' streams do
        data_seed = seed + (get_rank() if diff_rank_seed else 0)
        random.seed(data_seed)
        np.random.seed(data_seed % 2**32)
        self.dataloader = self.runner.build_dataloader(
            self.dataloader_cfg, seed=seed, diff_rank_seed=diff_rank_seed)
        self.dataloader_iterator = endless_batches(self.dataloader)
        if state is not None:  # consumed by mmengine's advance on resume
            self.dataloader_iterator = itertools.chain(
                itertools.repeat(None, self.stream_start),
                self.dataloader_iterator)
