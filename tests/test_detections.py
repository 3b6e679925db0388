"""Cached detections (panoptic §3.5): tools/dataset/make_detections.py from
the ground truth and from a detector, the checks of read_detections, and
the detector trained and tested through tools/det_train.py / det_test.py
(slow)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import make_detections
from conftest import REPO, write_tiny_dataset
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.datasets.detections import FORMAT, read_detections

PY = sys.executable
TOOL = osp.join(REPO, 'tools', 'dataset', 'make_detections.py')
DET_CONFIG = osp.join(REPO, 'configs', 'panoptic', 'detector',
                      'faster-rcnn_r18-fpn_1k_coco128-320x320.py')
CLASSES = ['bg', 'a', 'b']
# write_tiny_dataset's two boxes per image (xywh [4, 4, 16, 10] class a,
# [10, 18, 18, 10] class b) as x1 y1 x2 y2
TINY_BOXES = [[4, 4, 20, 14], [10, 18, 28, 28]]


def _run(args):
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _tiny_detector_options(root, scale=64):
    """The detector config on the tiny set: classes a and b, images at
    ``scale`` px."""
    return {
        'model.roi_head.bbox_head.num_classes': 2,
        'test_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.pipeline.1.scale': (scale, scale),
    }


def _cli(options):
    return ['--cfg-options'] + [
        f'{k}=({v[0]},{v[1]})' if isinstance(v, tuple) else f'{k}={v}'
        for k, v in options.items()
    ]


def _write_seg_config(tmp_path, root):
    path = tmp_path / 'seg_cfg.py'
    path.write_text(f'test_dataloader = dict(dataset=dict(data_root='
                    f'{str(root)!r}))\n')
    return str(path)


def test_from_gt_boxes_by_name_crowd_left_out(tiny_root, tmp_path,
                                              monkeypatch):
    inst = osp.join(tiny_root, 'instances', 'train.json')
    coco = json.load(open(inst))
    # image 4 without boxes, a crowd box on image 1
    coco['annotations'] = [a for a in coco['annotations']
                           if a['image_id'] != 4]
    coco['annotations'].append(dict(id=99, image_id=1, category_id=2,
                                    iscrowd=1, bbox=[0, 0, 30, 30]))
    json.dump(coco, open(inst, 'w'))
    out = str(tmp_path / 'dets' / 'gt.json')
    monkeypatch.setattr(sys, 'argv', [
        TOOL, DET_CONFIG, out, '--from-gt', '--split', 'train',
        '--seg-config', _write_seg_config(tmp_path, tiny_root)])
    make_detections.main()
    doc = json.load(open(out))
    assert {k: doc[k] for k in ('format', 'split', 'source', 'classes')} \
        == dict(format=FORMAT, split='train', source='ground truth',
                classes=CLASSES)
    boxes = dict(img_hw=[32, 32], bboxes=TINY_BOXES, labels=[1, 2],
                 scores=[1.0, 1.0])
    none = dict(img_hw=[32, 32], bboxes=[], labels=[], scores=[])
    assert doc['images'] == {'train/000': boxes, 'train/001': boxes,
                             'train/002': boxes, 'train/003': none}
    assert read_detections(out, CLASSES, 'train')['train/001'] == boxes
    assert not [f for f in os.listdir(osp.dirname(out)) if '.tmp' in f]


def test_from_gt_errors_name_category_and_image(tiny_root):
    images = make_detections.list_images(tiny_root, 'train')
    inst = osp.join(tiny_root, 'instances', 'train.json')
    with pytest.raises(WeakAnnotationError, match="category class 'b' is "
                       'not a dataset class') as err:
        make_detections.gt_detections(tiny_root, 'train', ['bg', 'a'],
                                      images)
    assert err.value.file == inst
    images['004'] = 'img_dir/train/004.jpg'
    with pytest.raises(WeakAnnotationError, match='not listed') as err:
        make_detections.gt_detections(tiny_root, 'train', CLASSES, images)
    assert (err.value.file, err.value.sample) == (inst, '004')
    with pytest.raises(WeakAnnotationError, match="detector class 'c'"):
        make_detections.class_indices(['a', 'c'], CLASSES, 'ckpt.pth',
                                      'detector')


def _valid_doc():
    entry = dict(img_hw=[32, 32], bboxes=[[4, 4, 20, 14], [-2, -2, 8, 40]],
                 labels=[1, 2], scores=[0.9, 0.2])
    return dict(format=FORMAT, split='train', source='test',
                classes=list(CLASSES),
                images={'train/000': entry,
                        'train/001': dict(entry, bboxes=[], labels=[],
                                          scores=[])})


def _bad_format(doc):
    doc['format'] = 'detections/0'


def _other_classes(doc):
    doc['classes'] = ['bg', 'a', 'c']


def _nan_score(doc):
    doc['images']['train/000']['scores'][1] = float('nan')


def _label_out_of_range(doc):
    doc['images']['train/000']['labels'][0] = 3


def _zero_area(doc):
    doc['images']['train/000']['bboxes'][0] = [5, 5, 5, 10]


def _outside(doc):
    doc['images']['train/000']['bboxes'][0] = [40, 0, 50, 10]


@pytest.mark.parametrize('corrupt,sample,message', [
    (_bad_format, '*', "format 'detections/0' is not"),
    (_other_classes, '*', "class 2 is 'c' in the file but 'b' in the "
     'dataset'),
    (_nan_score, 'train/000', 'scores must be finite'),
    (_label_out_of_range, 'train/000', r'labels \[3\] out of range'),
    (_zero_area, 'train/000', 'zero area'),
    (_outside, 'train/000', 'entirely outside the 32x32 image'),
])
def test_read_detections_errors(tmp_path, corrupt, sample, message):
    path = str(tmp_path / 'dets.json')
    doc = _valid_doc()
    json.dump(doc, open(path, 'w'))
    # valid, a box partly outside the image included
    assert read_detections(path, CLASSES, 'train')['train/000'][
        'bboxes'][1] == [-2.0, -2.0, 8.0, 40.0]
    corrupt(doc)
    json.dump(doc, open(path, 'w'))
    with pytest.raises(WeakAnnotationError, match=message) as err:
        read_detections(path, CLASSES, 'train')
    assert (err.value.file, err.value.sample) == (path, sample)
    assert path in str(err.value) and repr(sample) in str(err.value)


def test_detector_run_writes_a_valid_file(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'), n=2)
    options = _tiny_detector_options(root)
    cfg = Config.fromfile(DET_CONFIG)
    cfg.merge_from_dict(options)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)  # randomly initialised
    ckpt = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('a', 'b')))), ckpt)
    out = str(tmp_path / 'dets.json')
    _run([PY, TOOL, DET_CONFIG, ckpt, out, '--split', 'train',
          '--score-thr', '0', '--max-per-img', '5', *_cli(options)])
    dets = read_detections(out, CLASSES, 'train')
    assert json.load(open(out))['source'] == ckpt
    assert sorted(dets) == ['train/000', 'train/001']
    assert sum(len(d['labels']) for d in dets.values()) > 0
    for d in dets.values():
        assert d['img_hw'] == [32, 32] and len(d['labels']) <= 5
        assert set(d['labels']) <= {1, 2}
        # in original-image pixels (the pipeline resized 32 -> 64 px)
        for box in d['bboxes']:
            assert -0.5 <= min(box) and max(box) <= 32.5, box


@pytest.mark.slow
def test_det_train_test_and_cache(tmp_path):
    root = write_tiny_dataset(str(tmp_path / 'tiny'), n=4)
    inst = osp.join(root, 'instances', 'train.json')
    coco = json.load(open(inst))
    for ann in coco['annotations']:  # COCO evaluation needs the areas
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
    json.dump(coco, open(inst, 'w'))
    options = {
        'model.roi_head.bbox_head.num_classes': 2,
        'model.test_cfg.rcnn.score_thr': 0.0,
        'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.pipeline.2.scale': (64, 64),
        'val_evaluator.ann_file': inst, 'test_evaluator.ann_file': inst,
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({f'{loader}.dataset.data_root': root,
                        f'{loader}.dataset.metainfo.classes': ('a', 'b')})
    for loader in ('val_dataloader', 'test_dataloader'):
        options.update({
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
            f'{loader}.dataset.ann_file': 'instances/train.json',
            f'{loader}.dataset.data_prefix.img': 'img_dir/train/',
            f'{loader}.dataset.pipeline.1.scale': (64, 64)})
    work = str(tmp_path / 'work')
    _run([PY, 'tools/det_train.py', DET_CONFIG, '--work-dir', work,
          *_cli(options)])
    ckpt = osp.join(work, 'iter_2.pth')
    proc = _run([PY, 'tools/det_test.py', DET_CONFIG, ckpt, '--work-dir',
                 work, *_cli(options)])
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
    # the runner's checkpoint (message hub included) loads for the cache
    out = str(tmp_path / 'dets.json')
    _run([PY, TOOL, DET_CONFIG, ckpt, out, '--split', 'train',
          '--score-thr', '0', *_cli(options)])
    assert len(read_detections(out, CLASSES, 'train')) == 4


def test_detections_annotation_loads_packs_and_checks_the_image(tiny_root):
    """The ``detections`` annotation kind: a cache read by WeakSegDataset
    (``detections_file``), packed as ``sample.detections``; a cache made
    for images of another size is refused naming file and sample."""
    from mmseg.registry import DATASETS

    from conftest import full_dataset_cfg
    from mmseg_wsss.datasets import WeakAnnotationError
    images = {f'train/{i:03d}': dict(img_hw=[32, 32],
                                     bboxes=[[4.0, 4.0, 20.0, 14.0]],
                                     labels=[1], scores=[0.75])
              for i in range(4)}
    doc = dict(format='mmseg_wsss.detections/1', split='train',
               source='test', classes=['bg', 'a', 'b'], images=images)
    path = osp.join(tiny_root, 'dets.json')
    json.dump(doc, open(path, 'w'))
    pipeline = [dict(type='LoadCheckedImageFromFile'),
                dict(type='LoadWeakAnnotations', annotations=['detections']),
                dict(type='PackWeakSegInputs', target=None)]
    cfg = dict(full_dataset_cfg(tiny_root, pipeline=pipeline),
               detections_file='dets.json')
    s = DATASETS.build(cfg)[2]['data_samples']
    assert s.detections.bboxes.tolist() == [[4, 4, 20, 14]]
    assert s.detections.labels.tolist() == [1]
    assert abs(float(s.detections.scores[0]) - 0.75) < 1e-6
    images['train/002']['img_hw'] = [64, 64]
    json.dump(doc, open(path, 'w'))
    with pytest.raises(WeakAnnotationError, match="'train/002'.*64x64"):
        DATASETS.build(cfg)[2]
