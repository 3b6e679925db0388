"""PseudoLabelRefreshHook: atomic versions (a crash mid-refresh keeps the
previous one), the new labels actually served (also by persistent data
workers), resume restores the version; DSRG end to end through
tools/train.py (quality + refresh hooks), the labelling tool, the retrain
config and a 2-process gloo run."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_wsss.apis.labelling as labelling
from conftest import REPO, write_tiny_dataset
from dsrg_helpers import (ServedLabelsProbe, read_map, refresh_run_cfg,
                          write_seeds)
from mmseg_wsss.engine import PseudoLabelRefreshHook
from mmseg_wsss.utils.setup_env import REGISTRATION_MODULES

PY = sys.executable
N_IMAGES = 4
DSRG_NEU = 'configs/dsrg/dsrg_r18-d8-aspp_1k_neu-seg-128x128.py'
RETRAIN_NEU = 'configs/dsrg/dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py'


@pytest.fixture
def seeded_root(tmp_path) -> str:
    root = write_tiny_dataset(str(tmp_path / 'tiny'), n=N_IMAGES)
    write_seeds(root)
    return root


def _runner(root, work_dir, max_iters=4, interval=2, at_end=False,
            num_workers=0, persistent=False, load_from=None, resume=False,
            loop='WSSSIterBasedTrainLoop'):
    cfg = refresh_run_cfg(root, max_iters, interval, at_end,
                          hooks=[dict(type='ServedLabelsProbe')],
                          num_workers=num_workers, persistent=persistent)
    cfg['train_cfg']['type'] = loop
    cfg.update(custom_imports=dict(imports=list(REGISTRATION_MODULES)),
               experiment_name=uuid.uuid4().hex, work_dir=str(work_dir),
               resume=resume, load_from=load_from)
    return Runner.from_cfg(Config(cfg))


def _hook(runner, cls):
    return next(h for h in runner.hooks if isinstance(h, cls))


def _assert_served(runner, from_iter, to_iter, version_dir):
    """Every sample of iterations [from_iter, to_iter) carried the labels of
    ``version_dir``."""
    seen = [(p, lab) for it, p, lab in _hook(runner, ServedLabelsProbe).seen
            if from_iter <= it < to_iter]
    assert len(seen) == 2 * (to_iter - from_iter)
    for img_path, labels in seen:
        stem = osp.splitext(osp.basename(img_path))[0]
        np.testing.assert_array_equal(
            labels, read_map(osp.join(version_dir, stem + '.png')))


@pytest.mark.parametrize('num_workers, persistent', [(0, False), (1, False),
                                                     (1, True)])
def test_refresh_serves_the_new_version(seeded_root, tmp_path, num_workers,
                                        persistent):
    work = tmp_path / 'work'
    runner = _runner(seeded_root, work, num_workers=num_workers,
                     persistent=persistent)
    runner.train()
    v1, v2 = work / 'pseudo_labels' / 'v1', work / 'pseudo_labels' / 'v2'
    assert sorted(os.listdir(v1)) == sorted(os.listdir(v2)) == [
        f'{i:03d}.png' for i in range(N_IMAGES)]
    assert sorted(os.listdir(work / 'pseudo_labels')) == ['v1', 'v2']
    _assert_served(runner, 0, 2, osp.join(seeded_root, 'seeds/train'))
    _assert_served(runner, 2, 4, v1)  # not the seeds any more
    seeds = read_map(osp.join(seeded_root, 'seeds/train/000.png'))
    assert not np.array_equal(seeds, read_map(str(v1 / '000.png')))
    hook = _hook(runner, PseudoLabelRefreshHook)
    assert (hook.version, hook.path) == (2, str(v2))
    dataset = runner.train_dataloader.dataset
    assert dataset.data_prefix['pseudo_path'] == str(v2)
    np.testing.assert_array_equal(
        dataset[0]['data_samples'].gt_pseudo_seg.data[0],
        read_map(str(v2 / '000.png')))
    meta = torch.load(work / 'iter_2.pth', map_location='cpu')['meta']
    assert meta['pseudo_labels'] == dict(
        version=1, path=str(v1), stream=dict(reloads=1, stream_start=2))


def test_crash_mid_refresh_keeps_version_and_resume_restores_it(
        seeded_root, tmp_path, monkeypatch):
    work = tmp_path / 'work'
    root = work / 'pseudo_labels'
    runner = _runner(seeded_root, work, max_iters=6)
    real_write, calls = labelling.atomic_write_image, []

    def crash_in_second_refresh(path, img):
        calls.append(path)
        if len(calls) == N_IMAGES + 2:
            raise RuntimeError('simulated crash')
        real_write(path, img)

    monkeypatch.setattr(labelling, 'atomic_write_image',
                        crash_in_second_refresh)
    with pytest.raises(RuntimeError, match='simulated crash'):
        runner.train()
    monkeypatch.undo()
    # v2 never appeared; v1 is complete and still the one in use
    assert sorted(os.listdir(root)) == ['.v2.tmp', 'v1']
    assert len(os.listdir(root / '.v2.tmp')) == 1
    hook = _hook(runner, PseudoLabelRefreshHook)
    assert (hook.version, hook.path) == (1, str(root / 'v1'))
    dataset = runner.train_dataloader.dataset
    for i in range(N_IMAGES):
        stem = f'{i:03d}.png'
        np.testing.assert_array_equal(
            dataset[i]['data_samples'].gt_pseudo_seg.data[0],
            read_map(str(root / 'v1' / stem)))
    assert not (work / 'iter_4.pth').exists()  # the crash came first

    # resume from iter_2 (v1) in the same work_dir
    resumed = _runner(seeded_root, work, max_iters=6,
                      load_from=str(work / 'iter_2.pth'), resume=True)
    resumed.train()
    _assert_served(resumed, 2, 4, root / 'v1')
    _assert_served(resumed, 4, 6, root / 'v2')
    assert sorted(os.listdir(root)) == ['v1', 'v2', 'v3']  # no leftover
    hook = _hook(resumed, PseudoLabelRefreshHook)
    assert (hook.version, hook.path) == (3, str(root / 'v3'))


def test_resume_elsewhere_uses_the_checkpoint_path(seeded_root, tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    _runner(seeded_root, first, max_iters=2, interval=0,
            at_end=True).train()
    os.makedirs(second)
    shutil.copy(first / 'iter_2.pth', second / 'iter_2.pth')
    resumed = _runner(seeded_root, second, max_iters=4, interval=0,
                      at_end=True, num_workers=1, persistent=True,
                      load_from=str(second / 'iter_2.pth'), resume=True)
    resumed.train()
    _assert_served(resumed, 2, 4, first / 'pseudo_labels' / 'v1')
    assert os.listdir(second / 'pseudo_labels') == ['v2']
    # load_from (not resume) keeps the configured labels
    fresh = _runner(seeded_root, tmp_path / 'fresh', max_iters=2,
                    interval=0, at_end=True,
                    load_from=str(first / 'iter_2.pth'))
    fresh.train()
    _assert_served(fresh, 0, 2, osp.join(seeded_root, 'seeds/train'))


def test_hook_arguments(seeded_root, tmp_path):
    with pytest.raises(ValueError):
        PseudoLabelRefreshHook(interval=0, at_end=False)
    with pytest.raises(ValueError):
        PseudoLabelRefreshHook(interval=-1)
    runner = _runner(seeded_root, tmp_path / 'work', loop='IterBasedTrainLoop')
    with pytest.raises(TypeError, match="type='WSSSIterBasedTrainLoop'"):
        runner.train()


# ------------------------------------------------- through tools/*.py
def _run(args, env=None):
    proc = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True,
        env={**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _tiny_options(root, iters):
    return [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.data_prefix.pseudo_path=seeds/train',
        'train_dataloader.batch_size=2',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.data_prefix.img_path=img_dir/train',
        'val_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
        'model.decode_head.num_classes=3',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
        f'param_scheduler.1.end={iters}',
        'default_hooks.checkpoint.save_best=None',
        f'default_hooks.checkpoint.interval={iters}',
    ]


def _scalars(work_dir):
    """The run's vis_data/scalars.json."""
    (path, ) = [osp.join(work_dir, d, 'vis_data', 'scalars.json')
                for d in os.listdir(work_dir)
                if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                       'scalars.json'))]
    return path


@pytest.mark.slow
def test_dsrg_config_trains_with_quality_and_refresh_hooks(
        seeded_root, tmp_path):
    """The DSRG neu_seg config on the tiny set through tools/train.py
    (persistent workers): supervision quality logged every 5
    iterations, labels refreshed at 10 and 20 (+ at the end, with CRF);
    then the +Retrain recipe: the labelling tool on the final checkpoint
    gives the same labels, and the retrain config trains on them."""
    cfg = DSRG_NEU
    work = tmp_path / 'dsrg'
    opts = _tiny_options(seeded_root, 20) + [
        'train_dataloader.num_workers=1', 'custom_hooks.0.interval=5',
        'custom_hooks.1.interval=10'
    ]
    _run([PY, 'tools/train.py', cfg, '--work-dir', str(work),
          '--cfg-options', *opts])
    with open(_scalars(work)) as f:
        quality = [r for r in map(json.loads, f) if 'supervision/IoU' in r]
    assert [r['step'] for r in quality] == [5, 10, 15, 20]
    for r in quality:
        assert 0 <= r['supervision/precision'] <= 1
        assert 0 <= r['seeds/recall'] <= r['supervision/recall'] <= 1
    overlays = os.listdir(work / 'supervision_quality' / 'iter_20')
    assert len(overlays) == 2
    labels = work / 'pseudo_labels'
    assert sorted(os.listdir(labels)) == ['v1', 'v2']
    assert len(os.listdir(labels / 'v2')) == N_IMAGES
    meta = torch.load(work / 'iter_20.pth', map_location='cpu')['meta']
    assert meta['pseudo_labels'] == dict(
        version=2, path=str(labels / 'v2'),
        stream=dict(reloads=2, stream_start=20))

    # +Retrain, step 1 from a checkpoint: the tool gives the hook's labels
    out = tmp_path / 'relabelled'
    _run([PY, 'tools/dataset/label_with_model.py', cfg,
          str(work / 'iter_20.pth'), str(out), '--crf', '--batch-size', '8',
          '--cfg-options',
          *opts])
    for name in os.listdir(labels / 'v2'):
        np.testing.assert_array_equal(read_map(str(out / name)),
                                      read_map(str(labels / 'v2' / name)))
    # step 2: a new model trained fully-supervised on them
    retrain = tmp_path / 'retrain'
    _run([PY, 'tools/train.py',
          RETRAIN_NEU, '--work-dir', str(retrain), '--cfg-options',
          *_tiny_options(seeded_root, 2),
          f'train_dataloader.dataset.data_prefix.pseudo_path={out}',
          'train_dataloader.num_workers=0',
          'train_dataloader.persistent_workers=False',
          'custom_hooks.0.interval=1'])
    assert (retrain / 'iter_2.pth').is_file()
    # its supervision (gt_sem_seg) is the dense relabelling: every pixel
    # labelled, so precision = recall
    quality = [r for r in map(json.loads, open(_scalars(retrain)))
               if 'supervision/IoU' in r]
    assert [r['step'] for r in quality] == [1, 2]
    for r in quality:
        assert r['supervision/precision'] == pytest.approx(
            r['supervision/recall'])


@pytest.mark.slow
def test_two_process_gloo_refresh(seeded_root, tmp_path):
    """tools/dist_train.sh, 2 gloo processes: each rank labels half of the
    images, rank 0 publishes v1 complete, both ranks then train on it; the
    quality hook gathers both ranks' batches."""
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(
        f"_base_ = '{REPO}/{DSRG_NEU}'\n"
        'custom_imports = dict(imports='
        f"{[*REGISTRATION_MODULES, 'dsrg_helpers']!r})\n"
        "custom_hooks = [dict(type='PseudoLabelRefreshHook', interval=2,\n"
        "                     at_end=False),\n"
        "                dict(type='ServedLabelsProbe', dump=True),\n"
        "                dict(type='SupervisionQualityHook', interval=1)]\n"
        "train_dataloader = dict(dataset=dict(pipeline=[\n"  # no augmentation
        "    dict(type='LoadCheckedImageFromFile'),\n"
        "    dict(type='LoadWeakAnnotations',\n"
        "         annotations=['pseudo', 'tags', 'full']),\n"
        "    dict(type='PackWeakSegInputs', target=None)]))\n")
    # this checkout's mmseg_wsss, not an installed one
    env = dict(PYTHONPATH=os.pathsep.join([REPO, osp.join(REPO, 'tests')]),
               PYTHON=PY,
               PORT=str(29500 + (os.getpid() + 7) % 1000))
    log = _run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
                str(tmp_path / 'work'), '--cfg-options',
                *_tiny_options(seeded_root, 3),
                'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False',
                'model.loss_weak.1.loss_weight=0'], env=env)
    v1 = tmp_path / 'work' / 'pseudo_labels' / 'v1'
    assert os.listdir(v1.parent) == ['v1']
    assert sorted(os.listdir(v1)) == [f'{i:03d}.png' for i in range(N_IMAGES)]
    paths = set()
    for rank in range(2):
        probe = torch.load(tmp_path / 'work' / f'probe_rank{rank}.pth',
                           weights_only=False)
        assert (probe['version'], probe['path']) == (1, str(v1))
        assert probe['pseudo_path'] == str(v1)
        late = [(p, lab) for it, p, lab in probe['seen'] if it == 2]
        assert len(late) == 2
        for img_path, labels in late:
            paths.add(img_path)
            stem = osp.splitext(osp.basename(img_path))[0]
            np.testing.assert_array_equal(
                labels, read_map(str(v1 / f'{stem}.png')))
    assert len(paths) == N_IMAGES  # each rank its own samples
    assert '(2 maps from rank 0)' in log.stdout + log.stderr  # its shard
    # quality pooled over both ranks' batches (gathered), logged by rank 0
    with open(_scalars(tmp_path / 'work')) as f:
        steps = [r['step'] for r in map(json.loads, f)
                 if 'supervision/IoU' in r]
    assert steps == [1, 2, 3]
