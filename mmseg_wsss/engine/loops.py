"""An iteration-based training loop whose training data can be reloaded."""
import copy
import itertools
from typing import Iterator

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

    def reload_data(self) -> None:
        """Serve the data of :attr:`dataloader_cfg` from the next batch on.

        The current data loader and iterator are dropped first, which shuts
        their workers down (persistent ones included: torch stops them when
        the loader goes). The dataset, the sampler and the loader are then
        built as the runner built them, except that the ``k``-th reload
        seeds them with ``runner.seed + k``: an ``InfiniteSampler`` starts
        the deterministic stream of that seed (a resumed run that reloads
        at its start therefore does not replay the interrupted stream).
        Batches prefetched from the old loader are discarded; the new
        loader's workers start with the next batch.
        """
        self.reloads += 1
        self.dataloader_iterator = self.dataloader = None
        randomness = self.runner.cfg.get('randomness') or {}
        self.dataloader = self.runner.build_dataloader(
            self.dataloader_cfg,
            seed=self.runner.seed + self.reloads,
            diff_rank_seed=randomness.get('diff_rank_seed', False))
        self.dataloader_iterator = endless_batches(self.dataloader)
