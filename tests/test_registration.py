"""Components live in MMSeg's registries and configs load the package."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, METRICS, MODELS, RUNNERS, TRANSFORMS
from mmseg.structures import SegDataSample

from conftest import REPO, SHARED_SETS
from mmseg_wsss.engine import WSSSRunner
from mmseg_wsss.utils.setup_env import REGISTRATION_MODULES

CONFIGS = sorted(
    c for c in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    if osp.basename(osp.dirname(c)) != '_base_')


@pytest.mark.parametrize('registry,name', [
    (DATASETS, 'WeakSegDataset'),
    (TRANSFORMS, 'LoadWeakAnnotations'),
    (TRANSFORMS, 'LoadCheckedImageFromFile'),
    (TRANSFORMS, 'PackWeakSegInputs'),
    (TRANSFORMS, 'WeakRandomFlip'),
    (TRANSFORMS, 'WeakResize'),
    (TRANSFORMS, 'WeakRandomRescale'),
    (TRANSFORMS, 'WeakRandomCrop'),
    (MODELS, 'WeakSegDataPreProcessor'),
    (MODELS, 'WSSSEncoderDecoder'),
    (MODELS, 'CentroidBranch'),
    (MODELS, 'SeededRegionGrowing'),
    *[(MODELS, loss) for loss in (
        'CentroidLoss', 'CentroidMSELoss', 'SeedLoss', 'BalancedSeedLoss',
        'ConstrainLoss', 'ProportionLoss', 'KeypointBCELoss', 'SizeLoss',
        'SECSeedExpandLoss', 'RelaxedBoundaryLoss')],
    (MODELS, 'BENetHead'),
    (MODELS, 'InstanceCRFHead'),
    (METRICS, 'WSSSIoUMetric'),
    (METRICS, 'BoundaryMetric'),
    (METRICS, 'PanopticQualityMetric'),
    (METRICS, 'InstanceAPMetric'),
    (MODEL_WRAPPERS, 'WSSSDistributedDataParallel'),
    (RUNNERS, 'WSSSRunner'),
])
def test_registered(registry, name):
    assert registry.get(name) is not None


def test_configs_load_package_and_build_model():
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/centroid/pce_unet-s4_2k_neu-seg-128x128.py'))
    assert cfg.custom_imports['imports'] == list(REGISTRATION_MODULES)
    assert RUNNERS.get(cfg.runner_type) is WSSSRunner
    model = MODELS.build(cfg.model)
    out = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 4, 64, 64)


def test_runner_type_builds_wsss_runner(tmp_path):
    """MMSeg's tools/train.py builds ``RUNNERS.build(cfg)`` for a config
    with ``runner_type``: mmengine's ``from_cfg`` classmethod builds our
    class."""
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/centroid/pce_unet-s4_2k_neu-seg-128x128.py'))
    runner = RUNNERS.build(dict(runner_type=cfg.runner_type, model=cfg.model,
                                work_dir=str(tmp_path),
                                default_scope='mmseg',
                                experiment_name=tmp_path.name))
    assert type(runner) is WSSSRunner
    assert not runner.distributed


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_every_config_loads_reads_data_and_builds(path):
    """configs/<method>/{method}_{network}_{iterations}_{set}-{crop}.py
    (MMSeg's pattern) reads data/<set> relative to the repository, as MMSeg
    configs do (the shared sets are linked there by conftest; tiled and
    demo sets are made there by the tools), and its model builds."""
    name = osp.basename(path)
    assert re.fullmatch(r'[a-z-]+_[a-z0-9-]+_\d+k_[a-z0-9-]+-\d+x\d+\.py', name)
    assert name.split('_')[0].split('-')[0] in (
        osp.basename(osp.dirname(path)), 'pce', 'full', 'cam')
    cfg = Config.fromfile(path)
    for split in ('train', 'val', 'test'):
        root = cfg[f'{split}_dataloader'].dataset.data_root
        assert root.startswith('data/'), (split, root)
        if osp.basename(root) in SHARED_SETS:
            assert osp.isdir(osp.join(REPO, root)), (split, root)
    MODELS.build(cfg.model)


def test_metric_f1_is_harmonic_mean_of_mean_precision_and_recall():
    metric = METRICS.build(dict(type='WSSSIoUMetric'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    gt = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1]])
    s = SegDataSample(gt_sem_seg=PixelData(data=gt),
                      pred_sem_seg=PixelData(data=pred))
    metric.process({}, [s.to_dict()])
    m = metric.compute_metrics(metric.results)
    # class a: TP1 FP0 FN1 -> P 1, R 0.5, IoU 0.5
    # class b: TP2 FP1 FN0 -> P 2/3, R 1, IoU 2/3
    prec, rec = (1 + 2 / 3) / 2, (0.5 + 1) / 2
    assert m['mIoU'] == pytest.approx(round((0.5 + 2 / 3) / 2 * 100, 2))
    assert m['mPrecision'] == pytest.approx(round(prec * 100, 2))
    assert m['mRecall'] == pytest.approx(round(rec * 100, 2))
    assert m['F1'] == pytest.approx(2 * prec * rec / (prec + rec) * 100,
                                    abs=0.01)
    # MMSeg's mFscore averages per-class F-scores: a different number
    assert m['mFscore'] == pytest.approx(
        round((2 / 3 + 0.8) / 2 * 100, 2))


@pytest.mark.parametrize('call', ['setup_env', 'register_all_modules'])
def test_mmcv_without_ops_gives_install_hint(call):
    """mmcv-lite (no compiled mmcv._ext) fails with instructions when the
    environment is set up or the components are registered (importing
    mmseg_wsss itself does neither)."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['mmcv._ext'] = None\n"
            'import mmseg_wsss.utils\n'
            f'mmseg_wsss.utils.{call}()\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode != 0
    assert 'ImportError: mmseg_wsss needs mmcv with its compiled ops' in \
        proc.stderr
    assert 'tools/install.sh' in proc.stderr
