"""mmseg_wsss.apis: label_dataset with a threshold model on a hand-built
dataset (written maps, overlays, quality, resume, rank shards, batches,
dense CRF), the atomic version folder, the process shards, and
tools/analysis/crf_refine.py on them against a brute-force reference."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, METRICS, MODELS

from conftest import REPO, write_tiny_dataset

import mmseg_wsss.apis.labelling as labelling
from mmseg_wsss.algorithms.crf import dense_crf
from mmseg_wsss.apis import (LabelWriter, StagedLabelWriter, crf_labels,
                             label_dataset, publish, run_shards, staging_dir)
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.visualization import overlay_labels

IGN = 255
PALETTE = [[0, 0, 0], [255, 0, 0]]
# grey images: the model says 0 below 50, 1 from 150, unlabelled between
IMAGES = {'a': np.array([[0, 200, 100], [0, 0, 200]], np.uint8),
          'b': np.array([[200, 200], [0, 0]], np.uint8)}
FULL = {'a': np.array([[0, 1, 1], [1, 0, IGN]], np.uint8),
        'b': np.array([[1, 0], [0, 0]], np.uint8)}
EXPECTED = {'a': np.array([[0, 1, IGN], [0, 0, 1]], np.uint8),
            'b': np.array([[1, 1], [0, 0]], np.uint8)}
PIPELINE = [dict(type='LoadCheckedImageFromFile'),
            dict(type='LoadWeakAnnotations', annotations=['full']),
            dict(type='PackWeakSegInputs', target=None)]


class ThresholdModel(torch.nn.Module):
    """Labels each image by thresholds on its first channel (at its own
    size, as MMSeg's test_step); logits ``(v - 100, 100 - v) / 50``.
    Records the batch sizes it sees and whether it was in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.batches, self.modes = [], []

    def test_step(self, data: dict) -> list:
        self.batches.append(len(data['inputs']))
        self.modes.append(self.training)
        samples = []
        for img, sample in zip(data['inputs'], data['data_samples']):
            value = img[0].long()
            labels = torch.full_like(value, IGN)
            labels[value < 50], labels[value >= 150] = 0, 1
            logits = torch.stack([100 - value, value - 100]).float() / 50
            sample.pred_sem_seg = PixelData(data=labels[None])
            sample.seg_logits = PixelData(data=logits)
            samples.append(sample)
        return samples


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / 'set'
    for sub in ('img_dir/train', 'ann_dir/train'):
        os.makedirs(root / sub)
    for name, img in IMAGES.items():
        cv2.imwrite(str(root / 'img_dir/train' / f'{name}.png'),
                    np.repeat(img[..., None], 3, 2))
        cv2.imwrite(str(root / 'ann_dir/train' / f'{name}.png'), FULL[name])
    return DATASETS.build(dict(
        type='WeakSegDataset', data_root=str(root), img_suffix='.png',
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        metainfo=dict(classes=('bg', 'fg'), palette=PALETTE),
        pipeline=PIPELINE))


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_label_dataset_writes_maps_overlays_and_quality(dataset, tmp_path):
    out, overlays = tmp_path / 'labels', tmp_path / 'overlays'
    writer = LabelWriter(str(out), overlay_dir=str(overlays), palette=PALETTE)
    model = ThresholdModel().train()
    paths = label_dataset(model, dataset, writer, progress=False)
    assert paths == [str(out / 'a.png'), str(out / 'b.png')]
    for name, expected in EXPECTED.items():
        np.testing.assert_array_equal(_read(out / f'{name}.png'), expected)
        rgb = np.repeat(IMAGES[name][..., None], 3, 2)
        np.testing.assert_array_equal(  # image | labels, BGR on disk
            _read(overlays / f'{name}.png')[..., ::-1],
            np.concatenate([rgb, overlay_labels(rgb, expected, PALETTE)], 1))
    assert model.batches == [1, 1] and model.modes == [False, False]
    assert model.training  # restored
    # a: 5 mask pixels, 4 labelled, 3 right; b: 4, 4, 3. IoU: class 0
    # 4 right / (5 in masks + 5 labelled - 4); class 1: 2 / (4 + 3 - 2)
    quality = writer.quality
    assert quality.scores() == pytest.approx(
        dict(precision=6 / 8, recall=6 / 9, IoU=(4 / 6 + 2 / 5) / 2))
    assert quality.labelled_fraction == pytest.approx(9 / 10)
    assert quality.fully_measured
    assert sorted(os.listdir(out)) == ['a.png', 'b.png']  # no temp files


def test_label_dataset_resume_batches_and_rank_shards(dataset, tmp_path,
                                                      monkeypatch):
    out = tmp_path / 'labels'
    os.makedirs(out)
    kept = np.zeros((2, 3), np.uint8)
    cv2.imwrite(str(out / 'a.png'), kept)
    mtime = (out / 'a.png').stat().st_mtime_ns
    writer = LabelWriter(str(out), resume=True)
    model = ThresholdModel()
    label_dataset(model, dataset, writer, batch_size=2, progress=False)
    assert model.batches == [1]  # only b predicted
    assert (out / 'a.png').stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(_read(out / 'b.png'), EXPECTED['b'])
    # the kept map is measured: 2 of a's 5 mask pixels are 0s, b has 3 of 4
    assert writer.quality.scores()['recall'] == pytest.approx((2 + 3) / 9)

    cv2.imwrite(str(out / 'a.png'), np.zeros((3, 3), np.uint8))
    with pytest.raises(WeakAnnotationError, match='size different'):
        label_dataset(model, dataset, LabelWriter(str(out), resume=True),
                      progress=False)

    # rank 1 of 2 labels the second sample of its indices only
    monkeypatch.setattr(labelling, 'get_dist_info', lambda: (1, 2))
    model = ThresholdModel()
    paths = label_dataset(model, dataset, LabelWriter(str(tmp_path / 'r1')),
                          indices=[1, 0], progress=False)
    assert paths == [str(tmp_path / 'r1' / 'a.png')]
    assert os.listdir(tmp_path / 'r1') == ['a.png'] and model.batches == [1]



class StagedModel(ThresholdModel):
    """:class:`ThresholdModel` with one intermediate map, ``'swapped'``
    (classes 0 and 1 exchanged), in ``sample.stage_maps``."""

    def test_step(self, data: dict) -> list:
        samples = super().test_step(data)
        for sample in samples:
            labels = sample.pred_sem_seg.data[0].numpy().astype(np.uint8)
            swapped = np.where(labels == IGN, IGN, 1 - labels)
            sample.stage_maps = dict(swapped=swapped.astype(np.uint8))
        return samples


def test_staged_writer_saves_measures_and_resumes_every_map(dataset,
                                                            tmp_path):
    out, stages = tmp_path / 'labels', tmp_path / 'stages'

    def writer():
        return StagedLabelWriter(str(out), str(stages), ['swapped'],
                                 'stage_maps', resume=True)

    first = writer()
    label_dataset(StagedModel(), dataset, first, progress=False)
    for name, expected in EXPECTED.items():
        np.testing.assert_array_equal(_read(out / f'{name}.png'), expected)
        swapped = np.where(expected == IGN, IGN, 1 - expected)
        np.testing.assert_array_equal(
            _read(stages / 'swapped' / f'{name}.png'), swapped)
    # published: 6 of 8 labelled pixels right; swapped: the other 2
    assert first.quality.scores()['precision'] == pytest.approx(6 / 8)
    assert first.stages['swapped'].quality.scores()['precision'] == \
        pytest.approx(2 / 8)
    # a sample missing one of its maps is made again, the other one kept
    os.remove(stages / 'swapped' / 'a.png')
    model, again = StagedModel(), writer()
    label_dataset(model, dataset, again, progress=False)
    assert model.batches == [1] and (stages / 'swapped' / 'a.png').is_file()
    assert again.quality.images == 2
    assert again.stages['swapped'].quality.scores()['precision'] == \
        pytest.approx(2 / 8)

def test_label_dataset_dense_crf(dataset, tmp_path):
    out = tmp_path / 'crf'
    label_dataset(ThresholdModel(), dataset, LabelWriter(str(out)),
                  crf=dict(sxy_bilateral=2), progress=False)
    for name, img in IMAGES.items():
        value = torch.from_numpy(img).float()
        probs = (torch.stack([100 - value, value - 100]) / 50).softmax(0)
        rgb = np.repeat(img[..., None], 3, 2)
        expected = dense_crf(rgb, probs.numpy(), sxy_bilateral=2).argmax(0)
        np.testing.assert_array_equal(_read(out / f'{name}.png'), expected)
    # one channel is a sigmoid: the CRF sees (1 - p, p)
    sample = ThresholdModel().test_step(dict(
        inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)],
        data_samples=[dataset[0]['data_samples']]))[0]
    p = torch.tensor([[[0.9, 0.2, 0.6], [0.1, 0.7, 0.8]]])
    sample.seg_logits = PixelData(data=p)
    rgb = np.repeat(IMAGES['a'][..., None], 3, 2)
    np.testing.assert_array_equal(
        crf_labels(sample, {}),
        dense_crf(rgb, torch.cat([1 - p, p]).numpy()).argmax(0))


def test_staging_and_publish(tmp_path):
    final = str(tmp_path / 'labels' / 'v2')
    os.makedirs(final)
    open(osp.join(final, 'old.png'), 'w').close()  # an older v2
    leftover = tmp_path / 'labels' / '.v2.tmp'
    os.makedirs(leftover)
    open(leftover / 'crashed.png', 'w').close()
    staging = staging_dir(final)
    assert staging == str(leftover) and os.listdir(staging) == []
    assert staging_dir(final, reset=False) == staging
    open(osp.join(staging, 'new.png'), 'w').close()
    assert os.listdir(final) == ['old.png']  # nothing visible yet
    publish(staging, final)
    assert os.listdir(final) == ['new.png']
    assert sorted(os.listdir(tmp_path / 'labels')) == ['v2']


def _shard_job(indices, progress):
    if 7 in indices:
        raise ValueError('sample 7 is bad')
    return os.getpid(), list(indices), progress


def test_run_shards_in_processes():
    results = run_shards(_shard_job, 5, 2)
    assert [r[1:] for r in results] == [([0, 2, 4], True), ([1, 3], False)]
    assert os.getpid() not in {r[0] for r in results}
    (serial, ) = run_shards(_shard_job, 3, 1)
    assert serial == (os.getpid(), [0, 1, 2], True)
    assert len(run_shards(_shard_job, 1, 2)) == 1  # no empty shard
    with pytest.raises(ValueError, match='sample 7'):
        run_shards(_shard_job, 9, 2)


# ------------------------------------------------- tools/analysis/crf_refine
def _crf_refine(cfg_path, ckpt, out, nproc):
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/crf_refine.py', cfg_path, ckpt,
         str(out), '--nproc', str(nproc), '--crf', 'sxy_bilateral=20'],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / 'crf_report.json') as f:
        return json.load(f)


def _iou_metric(meta, samples):
    metric = METRICS.build(dict(type='WSSSIoUMetric'))
    metric.dataset_meta = meta
    metric.process({}, [s.to_dict() for s in samples])
    return {k: pytest.approx(float(v), abs=1e-6)
            for k, v in metric.compute_metrics(metric.results).items()}


def test_crf_refine_tool_in_two_processes(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/dsrg/dsrg_r18-d8-aspp_1k_neu-seg-128x128.py'))
    cfg.merge_from_dict({
        'model.decode_head.num_classes': 3,
        'test_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_prefix': dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train')})
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    # strong random logits: spatially varied predictions for the CRF
    torch.manual_seed(0)
    torch.nn.init.normal_(model.decode_head.conv_seg.weight, std=3.0)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)

    two = _crf_refine(cfg_path, ckpt, tmp_path / 'two', 2)
    one = _crf_refine(cfg_path, ckpt, tmp_path / 'one', 1)
    assert one == two
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    names = [f'{i:03d}.png' for i in range(len(dataset))]
    for sub in ('labels', 'overlays'):
        assert sorted(os.listdir(tmp_path / 'two' / sub)) == names
    # brute force: the model's raw predictions, the written refined ones
    raw, refined = [], []
    for i, name in enumerate(names):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        raw.append(sample.clone())
        labels = _read(tmp_path / 'two' / 'labels' / name)
        np.testing.assert_array_equal(
            labels, _read(tmp_path / 'one' / 'labels' / name))
        sample.pred_sem_seg = PixelData(
            data=torch.from_numpy(labels[None].astype(np.int64)))
        refined.append(sample)
    assert all(len(s.pred_sem_seg.data.unique()) == 3 for s in raw)
    assert any(not torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
               for a, b in zip(raw, refined))  # the CRF changed something
    assert two['samples'] == 4  # 'crf' holds the metrics, not the args
    assert two['raw'] == _iou_metric(dataset.metainfo, raw)
    assert two['crf'] == _iou_metric(dataset.metainfo, refined)
