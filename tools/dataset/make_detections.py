"""Cache the object detections of a dataset split, the input of the
instance subnetwork (Li, Arnab and Torr, ECCV 2018, §3.5), in the format
of :mod:`mmseg_wsss.datasets.detections`.

    python tools/dataset/make_detections.py DET_CONFIG CKPT OUT_JSON \\
        [--split val] [--score-thr 0.05] [--max-per-img 100] \\
        [--seg-config CONFIG] [--cfg-options k=v ...]
    python tools/dataset/make_detections.py CONFIG OUT_JSON --from-gt \\
        [--split val] [--seg-config CONFIG]

The images are those of the test dataset of ``--seg-config`` (default:
the first CONFIG's, ``--cfg-options`` applied): its ``data_root`` holds
``meta.json`` (the classes the labels index), ``img_dir/<split>`` (one
entry per image, keyed ``<split>/<stem>``; an image without detections
has empty lists) and, for ``--from-gt``, ``instances/<split>.json``.

* With a detector (an mmdet config such as
  ``configs/panoptic/detector/faster-rcnn_r18-fpn_1k_coco128-320x320.py``
  and its checkpoint, ``--cfg-options`` applied): every image goes through
  the config's test pipeline and ``test_cfg`` (``--score-thr``,
  ``--max-per-img``); boxes come back in original-image pixels. Detector
  class k is the dataset class of the same name (class names from the
  checkpoint's ``dataset_meta``, else the config's ``metainfo``); a name
  the dataset lacks is an error naming it. Boxes that rounding to 0.01 px
  leaves without area (squeezed onto the image border) are dropped.
* ``--from-gt``: the boxes of the COCO json (as x1 y1 x2 y2, to 0.01 px)
  with score 1, crowd boxes left out, categories matched to the classes
  by name (the "ground-truth boxes as detections" rows of the benchmark);
  an image the json does not list is an error.

The result is checked as :func:`~mmseg_wsss.datasets.detections.
read_detections` checks it and written atomically.
"""
import argparse
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.registry import MODELS
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar

from mmseg_wsss.apis import inner_dataset_cfg, load_config
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.datasets.detections import FORMAT, check_detections
from mmseg_wsss.datasets.validation import check_meta
from mmseg_wsss.utils import atomic_write_json

IMG_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def data_root_of(config: str, options: Optional[dict] = None) -> str:
    """``data_root`` of the test dataset of the config file ``config``
    (``options`` merged)."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    root = inner_dataset_cfg(cfg.test_dataloader).get('data_root')
    if not root:
        raise ValueError(f'{config}: its test dataset names no data_root')
    return root


def dataset_classes(data_root: str) -> List[str]:
    """The classes of ``data_root/meta.json``, checked."""
    path = osp.join(data_root, 'meta.json')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise WeakAnnotationError(path, '*', f'cannot read JSON: {e}')
    return list(check_meta(meta, path)['classes'])


def list_images(data_root: str, split: str) -> Dict[str, str]:
    """``{stem: path}`` of the images of ``data_root/img_dir/<split>``."""
    folder = osp.join(data_root, 'img_dir', split)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{folder} is missing')
    return {osp.splitext(name)[0]: osp.join(folder, name)
            for name in sorted(os.listdir(folder))
            if name.lower().endswith(IMG_SUFFIXES)}


def class_indices(names: Sequence[str], classes: Sequence[str], file: str,
                  what: str) -> List[int]:
    """The index in ``classes`` of every name of ``names`` (the classes of
    ``what`` in ``file``); a name ``classes`` lacks is an error."""
    missing = [n for n in names if n not in classes]
    if missing:
        raise WeakAnnotationError(
            file, '*', f'{what} class {missing[0]!r} is not a dataset class '
            f'(the dataset has {list(classes)})')
    return [list(classes).index(n) for n in names]


def gt_detections(data_root: str, split: str, classes: Sequence[str],
                  images: Dict[str, str]) -> dict:
    """The non-crowd boxes of ``instances/<split>.json`` of every image,
    as detections with score 1."""
    path = osp.join(data_root, 'instances', f'{split}.json')
    try:
        with open(path) as f:
            coco = json.load(f)
    except (OSError, ValueError) as e:
        raise WeakAnnotationError(path, '*', f'cannot read JSON: {e}')
    cats = coco.get('categories', [])
    labels = dict(zip([c['id'] for c in cats],
                      class_indices([c['name'] for c in cats], classes,
                                    path, 'category')))
    anns = defaultdict(list)
    for ann in coco.get('annotations', []):
        if not ann.get('iscrowd', 0):
            anns[ann['image_id']].append(ann)
    listed = {osp.splitext(img['file_name'])[0]: img
              for img in coco.get('images', [])}
    out = {}
    for stem in images:
        if stem not in listed:
            raise WeakAnnotationError(path, stem,
                                      'image not listed in the json')
        img = listed[stem]
        items = anns[img['id']]
        unknown = sorted({a['category_id'] for a in items} - set(labels))
        if unknown:
            raise WeakAnnotationError(
                path, stem, f'annotations use unknown category ids {unknown}')
        out[f'{split}/{stem}'] = dict(
            img_hw=[img['height'], img['width']],
            bboxes=[[round(v, 2) for v in (x, y, x + w, y + h)]
                    for x, y, w, h in (a['bbox'] for a in items)],
            labels=[labels[a['category_id']] for a in items],
            scores=[1.0] * len(items))
    return out


def detector_detections(config: str, checkpoint: str, split: str,
                        classes: Sequence[str], images: Dict[str, str],
                        score_thr: float, max_per_img: int,
                        cfg_options: Optional[dict] = None) -> dict:
    """Every image of ``images`` through the detector of ``config`` with
    the weights of ``checkpoint``."""
    cfg = load_config(config, cfg_options)  # default scope: the config's
    head_cfg = cfg.model.test_cfg.get('rcnn', cfg.model.test_cfg)
    head_cfg.update(score_thr=score_thr, max_per_img=max_per_img)
    model = MODELS.build(cfg.model)
    meta = load_checkpoint(model, checkpoint, map_location='cpu',
                           strict=True).get('meta', {})
    names = meta.get('dataset_meta', {}).get('classes') or inner_dataset_cfg(
        cfg.test_dataloader).get('metainfo', {}).get('classes')
    if not names:
        raise ValueError(f'{checkpoint}: no class names in its meta '
                         f'(dataset_meta) nor in the metainfo of {config}')
    to_seg = np.asarray(class_indices(names, classes, checkpoint,
                                      'detector'))
    model.to('cuda' if torch.cuda.is_available() else 'cpu').eval()
    pipeline = Compose([
        t for t in get_test_pipeline_cfg(cfg)
        if t['type'].split('.')[-1] != 'LoadAnnotations'
    ])
    out = {}
    bar = ProgressBar(len(images))
    for i, (stem, path) in enumerate(images.items()):
        data = pipeline(dict(img_path=path, img_id=i))
        with torch.no_grad():
            sample = model.test_step(
                dict(inputs=[data['inputs']],
                     data_samples=[data['data_samples']]))[0]
        pred = sample.pred_instances
        boxes = np.round(pred.bboxes.cpu().numpy().astype(np.float64), 2)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        labels = pred.labels.cpu().numpy()[keep]
        if labels.size and labels.max() >= len(to_seg):
            raise ValueError(f'{checkpoint}: label {labels.max()} but '
                             f'{len(to_seg)} class names')
        out[f'{split}/{stem}'] = dict(
            img_hw=[int(v) for v in sample.ori_shape],
            bboxes=boxes[keep].tolist(),
            labels=to_seg[labels].tolist(),
            scores=np.round(pred.scores.cpu().numpy()[keep].astype(
                np.float64), 5).tolist())
        bar.update()
    print()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='detector config (with --from-gt: '
                        'any config naming the data)')
    parser.add_argument('paths', nargs='+', metavar='[CKPT] OUT_JSON',
                        help='checkpoint (not with --from-gt) and output')
    parser.add_argument('--from-gt', action='store_true',
                        help='the ground-truth boxes as detections')
    parser.add_argument('--split', default='val')
    parser.add_argument('--score-thr', type=float, default=0.05)
    parser.add_argument('--max-per-img', type=int, default=100)
    parser.add_argument('--seg-config',
                        help='segmentation config whose test data_root '
                        'gives the images and classes (default: CONFIG)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of the detector config')
    args = parser.parse_args()
    if len(args.paths) != (1 if args.from_gt else 2):
        parser.error('expected CONFIG OUT_JSON --from-gt or '
                     'DET_CONFIG CKPT OUT_JSON')
    out_path = args.paths[-1]
    data_root = (data_root_of(args.seg_config) if args.seg_config else
                 data_root_of(args.config, args.cfg_options))
    classes = dataset_classes(data_root)
    images = list_images(data_root, args.split)
    if args.from_gt:
        source = 'ground truth'
        dets = gt_detections(data_root, args.split, classes, images)
    else:
        source = args.paths[0]
        dets = detector_detections(
            args.config, source, args.split, classes, images,
            args.score_thr, args.max_per_img, args.cfg_options)
    doc = dict(format=FORMAT, split=args.split, source=source,
               classes=classes, images=dets)
    check_detections(doc, classes, args.split, out_path)
    atomic_write_json(out_path, doc)
    print(json.dumps(dict(out=out_path, images=len(dets), detections=sum(
        len(d['labels']) for d in dets.values()))))


if __name__ == '__main__':
    main()
