"""tools/dataset/make_box_labels.py on the tiny set: box pseudo labels,
instances, report, overlays, resume, and bad input publishing nothing."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np

from conftest import REPO

TOOL = osp.join(REPO, 'tools', 'dataset', 'make_box_labels.py')
CONFIG = osp.join(REPO, 'configs', 'panoptic',
                  'panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py')


def _tool(root, out, *extra):
    return subprocess.run(
        [sys.executable, TOOL, CONFIG, str(out), '--nproc', '1',
         '--cfg-options', f'test_dataloader.dataset.data_root={root}',
         *extra], cwd=REPO, capture_output=True, text=True)


def test_box_labels_instances_report_and_resume(tiny_root, tmp_path):
    path = osp.join(tiny_root, 'instances/train.json')
    coco = json.load(open(path))
    for ann in coco['annotations']:  # instances keep the json's ids
        ann['inst_id'] = {1: 5, 2: 9}[ann['inst_id']]
    json.dump(coco, open(path, 'w'))
    out = tmp_path / 'boxes'
    proc = _tool(tiny_root, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(out / 'semantic' / 'train_report.json'))
    assert report['samples'] == 4
    assert set(report['maps']) == {'grabcut', 'proposals',
                                   'grabcut+proposals'}
    both = report['maps']['grabcut+proposals']
    # the two rectangles are found: what is labelled is right, and the
    # intersection labels no more than either estimator alone
    assert both['precision'] >= 95, report
    for name in ('grabcut', 'proposals'):
        assert both['ignored'] >= report['maps'][name]['ignored']
    full = cv2.imread(osp.join(tiny_root, 'ann_dir/train/000.png'), 0)
    sem = cv2.imread(str(out / 'semantic/train/000.png'), 0)
    inst = cv2.imread(str(out / 'instances/train/000.png'),
                      cv2.IMREAD_UNCHANGED)
    assert inst.dtype == np.uint16 and set(np.unique(inst)) <= {0, 5, 9}
    # outside both boxes: background; each instance only on its box's class
    assert (sem[full == 0][:1] == 0).all() and sem[0, 0] == 0
    assert set(np.unique(sem[inst == 5])) == {1}
    assert set(np.unique(sem[inst == 9])) == {2}
    assert (out / 'semantic/train_overlays/000.png').is_file()
    assert (out / 'semantic/train_stages/grabcut/000.png').is_file()
    before = os.stat(out / 'semantic/train/000.png').st_mtime_ns
    again = _tool(tiny_root, out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert os.stat(out / 'semantic/train/000.png').st_mtime_ns == before
    assert json.load(open(out / 'semantic' / 'train_report.json'))[
        'maps'] == report['maps']


def test_bad_boxes_publish_nothing(tiny_root, tmp_path):
    path = osp.join(tiny_root, 'instances/train.json')
    coco = json.load(open(path))
    coco['annotations'][2]['bbox'] = [20, 20, 16, 4]  # past the 32 px edge
    json.dump(coco, open(path, 'w'))
    out = tmp_path / 'bad'
    proc = _tool(tiny_root, out)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert path in proc.stderr and "'train/001'" in proc.stderr
    assert 'outside' in proc.stderr
    assert not out.exists()


def test_tags_label_stuff_outside_boxes(tiny_root, tmp_path):
    """--cam: a CAM classifier's Grad-CAM of the tagged stuff classes
    (here the background) labels the pixels outside every box; inside boxes
    the box labels stand. The classifier is untrained: this checks where
    each rule applies, not how good the maps are."""
    import torch
    from mmseg.apis import init_model

    from mmseg_wsss.apis import load_config
    cam_cfg = osp.join(REPO, 'configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py')
    torch.manual_seed(0)
    model = init_model(load_config(
        cam_cfg, {'model.decode_head.num_classes': 3}), None, device='cpu')
    ckpt = tmp_path / 'cam.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    boxes, tags = tmp_path / 'boxes', tmp_path / 'tags'
    assert _tool(tiny_root, boxes).returncode == 0
    proc = _tool(tiny_root, tags, '--cam', cam_cfg, str(ckpt),
                 '--cam-options', 'model.decode_head.num_classes=3',
                 '--stuff-classes', '0')
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(tags / 'semantic' / 'train_report.json'))
    assert set(report['maps']) == {'grabcut', 'proposals', 'tags',
                                   'grabcut+proposals+tags'}
    for i in range(4):
        a = cv2.imread(str(boxes / f'semantic/train/{i:03d}.png'), 0)
        b = cv2.imread(str(tags / f'semantic/train/{i:03d}.png'), 0)
        t = cv2.imread(str(tags / f'semantic/train_stages/tags/{i:03d}.png'),
                       0)
        inboxes = np.zeros_like(a, bool)
        inboxes[4:14, 4:20] = inboxes[18:28, 10:28] = True
        assert (b[inboxes] == a[inboxes]).all()
        assert (b[~inboxes] == t[~inboxes]).all()
        assert set(np.unique(t)) <= {0, 255} and (t == 0).any()
