"""A real training process with PseudoLabelRefreshHook, SIGKILLed mid-write
of a map, before a version's rename, mid-write of a checkpoint and right
after a checkpoint, then resumed with ``tools/train.py --resume``: the
previous version is intact, the run continues on the right version, and
its final labels and weights equal an uninterrupted run's."""
import os
import os.path as osp
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, write_tiny_dataset
from dsrg_helpers import read_map, refresh_run_cfg, write_seeds
from mmseg_wsss.utils.setup_env import REGISTRATION_MODULES

pytestmark = pytest.mark.slow
N_IMAGES, ITERS = 4, 6


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """The seeded tiny dataset, the config and an uninterrupted run."""
    tmp = tmp_path_factory.mktemp('crash')
    root = write_tiny_dataset(str(tmp / 'tiny'), n=N_IMAGES)
    write_seeds(root)
    # shuffled and flipped: a resumed run must see the same batches
    cfg = refresh_run_cfg(root, ITERS, hooks=[dict(type='KillAfterIterHook')],
                          shuffle=True, flip=True, lr=0.05, momentum=0.9)
    cfg.update(custom_imports=dict(
        imports=[*REGISTRATION_MODULES, 'kill_probe'],
        allow_failed_imports=False), runner_type='WSSSRunner')
    cfg = Config(cfg)
    config = str(tmp / 'crash_cfg.py')
    cfg.dump(config)
    full = tmp / 'full'
    _train(config, full)
    return config, full


def _train(config, work_dir, kill=None, resume=False):
    env = {**os.environ,
           'PYTHONPATH': os.pathsep.join([osp.join(REPO, 'tests'), REPO]),
           'OMP_NUM_THREADS': '1'}
    if kill:
        env['MMSEG_WSSS_KILL'], env['MMSEG_WSSS_KILL_AT'] = kill[0], str(
            kill[1])
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(work_dir), *(['--resume'] if resume else [])],
        cwd=REPO, capture_output=True, text=True, env=env)
    expected = -signal.SIGKILL if kill else 0
    assert proc.returncode == expected, proc.stdout[-2000:] + \
        proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def _maps(folder):
    return {name: read_map(osp.join(folder, name))
            for name in sorted(os.listdir(folder))}


def _assert_same_maps(a, b):
    ma, mb = _maps(a), _maps(b)
    assert list(ma) == list(mb) == [f'{i:03d}.png' for i in range(N_IMAGES)]
    for name in ma:
        np.testing.assert_array_equal(ma[name], mb[name], err_msg=name)


# (kill point, where, what is on disk after the kill, iteration resumed from)
CASES = [
    (('map', 2), ['.v2.tmp', 'v1'], 2),
    (('publish', 2), ['.v2.tmp', 'v1'], 2),
    (('checkpoint', 4), ['v1', 'v2'], 2),
    (('after_iter', 4), ['v1', 'v2'], 4),
]


@pytest.mark.parametrize('kill, on_disk, resumed_from', CASES,
                         ids=[c[0][0] for c in CASES])
def test_killed_run_resumes_to_the_uninterrupted_result(
        setup, tmp_path, kill, on_disk, resumed_from):
    config, full = setup
    work = tmp_path / 'work'
    _train(config, work, kill=kill)
    labels = work / 'pseudo_labels'
    assert sorted(os.listdir(labels)) == on_disk
    _assert_same_maps(labels / 'v1', full / 'pseudo_labels' / 'v1')  # intact
    if kill[0] == 'map':  # a partial map in the staging folder only
        assert any('partial' in f for f in os.listdir(labels / '.v2.tmp'))
    if kill[0] == 'checkpoint':  # half-written, and not the last one
        assert osp.getsize(work / 'iter_4.pth') < osp.getsize(
            full / 'iter_4.pth')
        assert (work / 'last_checkpoint').read_text().strip().endswith(
            'iter_2.pth')

    log = _train(config, work, resume=True)
    assert f'resumed epoch: 0, iter: {resumed_from}' in log
    assert sorted(os.listdir(labels)) == ['v1', 'v2', 'v3']
    for version in ('v2', 'v3'):
        _assert_same_maps(labels / version, full / 'pseudo_labels' / version)
    final = torch.load(work / f'iter_{ITERS}.pth', map_location='cpu')
    expected = torch.load(full / f'iter_{ITERS}.pth', map_location='cpu')
    assert final['meta']['pseudo_labels']['path'] == str(labels / 'v3')
    assert final['state_dict'].keys() == expected['state_dict'].keys()
    for k, v in expected['state_dict'].items():
        torch.testing.assert_close(final['state_dict'][k], v, rtol=0,
                                   atol=1e-6, msg=k)
