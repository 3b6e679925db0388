"""WSSSIterBasedTrainLoop.reload_data: the edited config served from the
next batch on by new (persistent) workers, the old ones shut down, no
worker started before a batch is asked for, and the sampler stream of
seed + k after the k-th reload."""
import multiprocessing as mp
import os
import uuid
from itertools import islice

import pytest
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader, Dataset

from mmseg_wsss.engine import WSSSIterBasedTrainLoop

LENGTH = 7


@DATASETS.register_module(force=True)
class ValueDataset(Dataset):
    """Sample ``i`` is ``dict(index=i, value=value, pid=<loading process>)``.
    """

    def __init__(self, value: int) -> None:
        self.value = value

    def __len__(self) -> int:
        return LENGTH

    def __getitem__(self, index: int) -> dict:
        return dict(index=index, value=self.value, pid=os.getpid())


class ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, *args, **kwargs):
        return dict(loss=self.weight.sum())


def _loop(tmp_path, num_workers=1) -> WSSSIterBasedTrainLoop:
    runner = Runner(
        model=ToyModel(), work_dir=str(tmp_path),
        experiment_name=uuid.uuid4().hex, default_scope='mmseg',
        train_dataloader=dict(
            batch_size=1, num_workers=num_workers,
            persistent_workers=num_workers > 0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='ValueDataset', value=1)),
        train_cfg=dict(type='WSSSIterBasedTrainLoop', max_iters=10),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        randomness=dict(seed=3))
    return runner.train_loop


def _take(loop, n):
    """``n`` batches as (index, value, pid) triples."""
    return [(b['index'][0], b['value'][0], b['pid'][0])
            for b in islice(loop.dataloader_iterator, n)]


def _stream(seed, n):
    sampler = InfiniteSampler(ValueDataset(0), shuffle=True, seed=seed)
    return list(islice(iter(sampler), n))


def _alive_children():
    return {p.pid for p in mp.active_children()}


def test_reload_data_serves_new_data_from_new_workers(tmp_path):
    others = _alive_children()
    loop = _loop(tmp_path)
    assert loop.runner.seed == 3
    first = _take(loop, 5)
    assert [i for i, _, _ in first] == _stream(3, 5)  # as mmengine's loop
    assert {v for _, v, _ in first} == {1}
    (old_worker, ) = {p for _, _, p in first}
    assert old_worker != os.getpid() and old_worker in _alive_children()

    loop.dataloader_cfg['dataset']['value'] = 2
    loop.reload_data()
    # the old worker is shut down at once; none started before a batch
    assert _alive_children() == others
    assert loop.runner.train_dataloader.dataset.value == 2
    second = _take(loop, 9)
    assert [i for i, _, _ in second] == _stream(4, 9)  # seed + 1, anew
    assert {v for _, v, _ in second} == {2}
    (new_worker, ) = {p for _, _, p in second}
    assert new_worker not in (old_worker, os.getpid())

    loop.reload_data()
    assert [i for i, _, _ in _take(loop, 4)] == _stream(5, 4)


def test_reload_without_workers_and_passes_of_a_finite_sampler(tmp_path):
    loop = _loop(tmp_path, num_workers=0)
    loop.dataloader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=True)
    loop.reload_data()
    batches = [i for i, _, _ in _take(loop, 2 * LENGTH)]
    # two passes: each a permutation, the second with the next epoch's order
    assert sorted(batches[:LENGTH]) == sorted(batches[LENGTH:]) == list(
        range(LENGTH))
    assert batches[:LENGTH] != batches[LENGTH:]


def test_the_loop_needs_a_config(tmp_path):
    loop = _loop(tmp_path, num_workers=0)
    with pytest.raises(TypeError, match='as a dict'):
        WSSSIterBasedTrainLoop(loop.runner, DataLoader(ValueDataset(1)), 10)
