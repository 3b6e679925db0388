"""Semantic and instance pseudo labels from boxes, and stuff labels from
image tags (Li, Arnab and Torr, ECCV 2018, §3.2-3.3, Fig. 2-3) for a
dataset split.

    python tools/dataset/make_box_labels.py CONFIG OUT_DIR \\
        [--split train] [--estimators grabcut proposals] \\
        [--outside background] [--bg-index 0] \\
        [--cam CAM_CONFIG CAM_CKPT --stuff-classes ID ... \\
         --tag-threshold 0.5 --cam-options k=v ...] \\
        [--nproc 2] [--restart] [--cfg-options k=v ...]

CONFIG names the data: its test dataset's root (``data_root``), with
``img_dir/<split>``, the boxes of ``instances/<split>.json`` (any COCO
json: ``--instances-file PATH`` relative to the root; crowd annotations
are left out, categories matched to the classes by name) and, where the
split has them, the full masks ``ann_dir/<split>`` (to measure the labels
only). Per image, :func:`mmseg_wsss.algorithms.box_labels.
box_pseudo_labels`: each box's foreground is where all ``--estimators``
agree (GrabCut, and ``proposals``, the substitute for MCG), other pixels
in boxes are ignored (255), pixels outside every box are background
(``--outside ignore``: ignored); the same pass gives one instance per box.

With ``--cam``, a CAM classifier (``configs/dsrg/cam_*``; Grad-CAM by
default, as the paper) gives the localisation maps of each image's tagged
``--stuff-classes`` (``weak/tags.json``), thresholded at
``--tag-threshold`` of their maximum, the smaller area winning where they
overlap (:func:`~mmseg_wsss.algorithms.box_labels.tag_pseudo_labels`);
they label the pixels outside every box (255 where no stuff class claims
them). A set without a COCO json (CamVid) is labelled from its tags alone.

Written:

* ``OUT_DIR/semantic/<split>/<id>.png``: class ids (``pseudo_path`` of a
  training config); ``OUT_DIR/instances/<split>/<id>.png``: uint16
  instance ids (each box's ``inst_id`` in the json, else its 1-based
  index; 0: none, or claimed by two boxes of one class), which
  ``inst_map_path`` can load next to the json's boxes; each folder is one
  version, written into ``.<split>.tmp`` beside it and renamed when
  complete;
* ``OUT_DIR/semantic/<split>_stages/<estimator>/``: the labels each
  estimator gives alone (when there are several);
* ``OUT_DIR/semantic/<split>_overlays/<id>.png``: image with boxes | each
  estimator alone | the labels | the instances;
* ``OUT_DIR/semantic/<split>_report.json``: per map (each estimator alone,
  their intersection) precision / recall / mIoU (%) against the full
  masks and the share of ignored pixels.

A rerun resumes (existing maps are kept and measured); ``--restart``
remakes everything. ``--nproc`` processes share the images. Bad input
(boxes outside the image or of zero area, unknown category ids, an image
the json does not list) stops the run before anything is written, naming
the file and the sample.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from functools import partial
from typing import Dict, List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from mmseg.apis import init_model
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms import LabelQuality
from mmseg_wsss.algorithms.box_labels import (FOREGROUND_ESTIMATORS,
                                              UNCERTAIN, box_mask,
                                              box_pseudo_labels,
                                              segment_hierarchy,
                                              tag_pseudo_labels)
from mmseg_wsss.apis import (StagedLabelWriter, label_dataset, load_config,
                             publish, resumable_staging, run_shards)
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.utils import atomic_write_image, atomic_write_json
from mmseg_wsss.visualization import overlay_labels


def dataset_cfg(cfg, split: str, instances_file: Optional[str],
                tags: bool) -> dict:
    """The test dataset of ``cfg`` on ``img_dir/<split>`` with its boxes
    (where the json exists; required without ``tags``), its image tags
    (``tags``) and the full masks (where the split has them), packed for
    labelling."""
    ds = cfg.test_dataloader.dataset.to_dict()
    root = ds['data_root']
    ds['data_prefix'] = dict(img_path=f'img_dir/{split}')
    annotations = []
    if osp.isdir(osp.join(root, 'ann_dir', split)):
        ds['data_prefix']['seg_map_path'] = f'ann_dir/{split}'
        annotations.append('full')
    json_file = instances_file or f'instances/{split}.json'
    if osp.isfile(osp.join(root, json_file)):
        ds['instances_file'] = json_file
        annotations.append('boxes')
    elif not tags or instances_file:
        raise WeakAnnotationError(osp.join(root, json_file), '*',
                                  'no COCO json: boxes are needed')
    if tags:
        ds['tags_file'] = 'weak/tags.json'
        annotations.append('tags')
    ds['pipeline'] = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadWeakAnnotations', annotations=annotations),
        dict(type='PackWeakSegInputs', target=None)
    ]
    return ds


class BoxLabeller(nn.Module):
    """:func:`box_pseudo_labels` (and, with a CAM classifier,
    :func:`tag_pseudo_labels` for the stuff classes outside every box) as a
    model for :func:`~mmseg_wsss.apis.label_dataset`: ``pred_sem_seg`` is
    the labels; ``box_maps`` the labels of each estimator alone (and of the
    tags alone, ``'tags'``) and ``box_instances`` the instance map."""

    def __init__(self, estimators: Sequence[str], outside: str,
                 bg_index: int, cam: Optional[nn.Module] = None,
                 stuff_classes: Sequence[int] = (),
                 tag_threshold: float = 0.5) -> None:
        super().__init__()
        self.estimators, self.outside = list(estimators), outside
        self.bg_index, self.cam = bg_index, cam
        self.stuff_classes = set(stuff_classes)
        self.tag_threshold = tag_threshold

    def boxes(self, img: np.ndarray, sample: SegDataSample) -> tuple:
        """The box labels (outside every box: ``outside``), each
        estimator's alone, the instances and the pixels in boxes."""
        if 'gt_instances' not in sample:  # a tags-only set
            h, w = img.shape[:2]
            return (np.full((h, w), UNCERTAIN, np.uint8), {},
                    np.zeros((h, w), np.uint16), np.zeros((h, w), bool))
        inst = sample.gt_instances
        boxes = inst.bboxes.numpy().reshape(-1, 4)
        segments = (segment_hierarchy(img)
                    if 'proposals' in self.estimators else None)
        fgs = {name: [FOREGROUND_ESTIMATORS[name](img, b, segments)
                      for b in boxes] for name in self.estimators}
        run = partial(box_pseudo_labels, img, boxes, inst.labels.numpy(),
                      bg_index=self.bg_index, outside=self.outside,
                      foregrounds=fgs)
        out = run(estimators=self.estimators)
        alone = ({name: run(estimators=[name]).semantic
                  for name in self.estimators}
                 if len(self.estimators) > 1 else {})
        inboxes = np.zeros(img.shape[:2], bool)
        for box in boxes:
            inboxes |= box_mask(box, img.shape)
        # box k's instance is the json's inst_id of box k (0 stays none)
        ids = np.concatenate([[0], inst.instance_ids.numpy()])
        return out.semantic, alone, ids[out.instances].astype(np.uint16), \
            inboxes

    def test_step(self, data: dict) -> List[SegDataSample]:
        cams = self.cam.test_step(copy.deepcopy(data)) if self.cam else None
        preds = []
        for i, sample in enumerate(data['data_samples']):
            img = mmcv.imread(sample.img_path, 'color_ignore_orientation',
                              channel_order='rgb')
            labels, maps, instances, inboxes = self.boxes(img, sample)
            if cams is not None:
                tags = np.flatnonzero(sample.gt_tags.numpy())
                stuff = [t for t in tags if t in self.stuff_classes]
                maps['tags'] = tag_pseudo_labels(
                    cams[i].seg_logits.data.float().cpu().numpy(), stuff,
                    self.tag_threshold)
                labels = np.where(inboxes, labels, maps['tags'])
            sample.box_maps, sample.box_instances = maps, instances
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(labels.astype(np.int64))[None])
            preds.append(sample)
        return preds


def draw_boxes(img: np.ndarray, sample: SegDataSample) -> np.ndarray:
    out = np.ascontiguousarray(img.copy())
    if 'gt_instances' not in sample:
        return out
    for x1, y1, x2, y2 in sample.gt_instances.bboxes.numpy():
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)),
                      (255, 255, 0), 1)
    return out


def instance_colours(instances: np.ndarray) -> np.ndarray:
    """Instance ids as distinct colours (0 black)."""
    rng = np.random.default_rng(0)
    lut = rng.integers(64, 256, (int(instances.max()) + 1, 3),
                       dtype=np.uint8)
    lut[0] = 0
    return lut[instances]


def box_overlay(img: np.ndarray, sample: SegDataSample, labels: np.ndarray,
                palette: Sequence) -> np.ndarray:
    """image with boxes | each estimator | labels | instances, RGB."""
    panels = [draw_boxes(img, sample)]
    panels += [overlay_labels(img, m, palette)
               for m in sample.box_maps.values()]
    panels += [overlay_labels(img, labels, palette),
               instance_colours(sample.box_instances)]
    return np.concatenate(panels, 1)


class BoxWriter(StagedLabelWriter):
    """The semantic labels (published, measured), the instance maps
    (uint16, ``inst_dir``) and each estimator's labels (``sample.box_maps``,
    measured)."""

    def __init__(self, out_dir: str, inst_dir: str, stage_dir: str,
                 names: Sequence[str], **kwargs) -> None:
        super().__init__(out_dir, stage_dir, names, 'box_maps', **kwargs)
        self.inst_dir = inst_dir

    def extra_paths(self, name: str) -> List[str]:
        return [osp.join(self.inst_dir, name + '.png')]

    def write(self, name: str, sample: SegDataSample,
              labels: np.ndarray) -> None:
        atomic_write_image(self.extra_paths(name)[0], sample.box_instances)
        super().write(name, sample, labels)


def label_shard(indices: Sequence[int], progress: bool, args: dict,
                staging: Dict[str, str]) -> Dict[str, LabelQuality]:
    cfg = load_config(args['config'], args['cfg_options'])
    dataset = DATASETS.build(dataset_cfg(cfg, args['split'],
                                         args['instances_file'],
                                         bool(args['cam'])))
    root = osp.join(args['out_dir'], 'semantic')
    split = args['split']
    stages = map_names(args)[:-1]
    cam = load_cam(args) if args['cam'] else None
    writer = BoxWriter(
        staging['semantic'], staging['instances'],
        osp.join(root, f'{split}_stages'), stages,
        overlay_dir=osp.join(root, f'{split}_overlays'),
        palette=dataset.metainfo['palette'], overlay=box_overlay,
        resume=not args['restart'])
    model = BoxLabeller(args['estimators'], args['outside'],
                        args['bg_index'], cam, args['stuff_classes'],
                        args['tag_threshold'])
    label_dataset(model, dataset, writer, indices=indices, progress=progress)
    return dict({n: w.quality for n, w in writer.stages.items()},
                **{map_names(args)[-1]: writer.quality})


def map_names(args: dict) -> List[str]:
    """The report's maps: each estimator alone (when several), the tags
    alone (with a CAM classifier), and the published labels last."""
    names = list(args['estimators']) if len(args['estimators']) > 1 else []
    main = '+'.join(args['estimators'])
    if args['cam']:
        names.append('tags')
        main += '+tags'
    return names + [main]


def load_cam(args: dict) -> nn.Module:
    """The CAM classifier of ``--cam`` (Grad-CAM unless ``--cam-options``
    says otherwise), on the CPU."""
    config, checkpoint = args['cam']
    options = {'model.test_cfg.cam': 'gradcam', **(args['cam_options'] or {})}
    if not osp.isfile(checkpoint):
        raise WeakAnnotationError(checkpoint, '*', 'CAM checkpoint not found')
    cfg = load_config(config, options)
    model = init_model(cfg, None, device='cpu')
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        logger='silent')
    except RuntimeError as e:
        raise WeakAnnotationError(
            checkpoint, '*', f'does not fit {config}: {str(e).strip()}')
    return model.eval()


def check(args: argparse.Namespace) -> int:
    """Build the dataset (which checks the json: its categories, every
    image listed, every box in its image); the number of samples."""
    cfg = load_config(args.config, args.cfg_options)
    dataset = DATASETS.build(dataset_cfg(cfg, args.split,
                                         args.instances_file,
                                         bool(args.cam)))
    if not len(dataset):
        raise WeakAnnotationError(
            osp.join(dataset.data_root, 'img_dir', args.split), '*',
            'no images')
    return len(dataset)


def run(args: argparse.Namespace) -> dict:
    n = check(args)
    finals = {k: osp.join(args.out_dir, k, args.split)
              for k in ('semantic', 'instances')}
    staging = {k: resumable_staging(final, args.restart)
               for k, final in finals.items()}
    job = partial(label_shard, staging=staging, args=vars(args))
    results = run_shards(job, n, args.nproc)
    quality = {k: sum((r[k] for r in results), LabelQuality())
               for k in results[0]}
    for key, final in finals.items():
        publish(staging[key], final)
    report = dict(split=args.split, samples=n, output=finals,
                  estimators=args.estimators, outside=args.outside,
                  cam=args.cam, stuff_classes=args.stuff_classes,
                  tag_threshold=args.tag_threshold, maps={})
    measured = all(q.fully_measured for q in quality.values())
    if not measured:
        report['quality'] = ('not measured: no full masks for every image '
                             f'(ann_dir/{args.split})')
    for name, q in quality.items():
        entry = dict(ignored=round(1 - q.labelled_fraction, 4))
        if measured:
            s = q.scores()
            entry.update(precision=round(s['precision'] * 100, 2),
                         recall=round(s['recall'] * 100, 2),
                         mIoU=round(s['IoU'] * 100, 2))
        report['maps'][name] = entry
    atomic_write_json(osp.join(args.out_dir, 'semantic',
                               f'{args.split}_report.json'), report, indent=2)
    return report


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('out_dir')
    parser.add_argument('--split', default='train')
    parser.add_argument('--instances-file',
                        help='COCO json relative to the data root '
                        '(default instances/<split>.json)')
    parser.add_argument('--estimators', nargs='+',
                        default=['grabcut', 'proposals'],
                        choices=sorted(FOREGROUND_ESTIMATORS))
    parser.add_argument('--outside', default='background',
                        choices=['background', 'ignore'])
    parser.add_argument('--bg-index', type=int, default=0,
                        help='the background class (outside every box)')
    parser.add_argument('--cam', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='a CAM classifier: stuff classes from the '
                        'image tags (weak/tags.json) outside every box')
    parser.add_argument('--cam-options', nargs='+', action=DictAction)
    parser.add_argument('--stuff-classes', nargs='+', type=int, default=[],
                        help='class ids labelled from the tags')
    parser.add_argument('--tag-threshold', type=float, default=0.5,
                        help='fraction of each localisation map\'s maximum')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--restart', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except WeakAnnotationError as e:
        sys.exit(f'\nmake_box_labels: {e}')
    print('\n' + json.dumps(report))


if __name__ == '__main__':
    main()
